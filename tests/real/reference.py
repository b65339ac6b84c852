"""TF.js's outputs for a model and inputs: run once in node, then cached on disk. String tensors
(object arrays of bytes) travel as JSON lists of base64, byte for byte, and are cached as their
concatenated bytes plus each element's end offset."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tests.real import npm

SCRIPT = Path(__file__).with_name("tfjs_reference.js")
TIMEOUT_S = 900
NUMPY_OF = {"float32": np.float32, "int32": np.int32, "bool": np.uint8}


def _key(model_json: Path, inputs: dict[str, np.ndarray], outputs: list[str], fmt: str, tfjs: str) -> str:
    """Hash of the model's own files (model.json and the shards it names), the inputs, the outputs
    asked for and the TF.js version."""
    digest = hashlib.sha256()
    raw = model_json.read_bytes()
    digest.update(raw)
    for group in json.loads(raw).get("weightsManifest", []):
        for shard in group.get("paths", []):
            digest.update((model_json.parent / shard).read_bytes())
    for name in sorted(inputs):
        value = inputs[name]
        raw = json.dumps(_base64(value)).encode() if value.dtype == object else value.tobytes()
        digest.update(name.encode() + str(value.shape).encode() + str(value.dtype).encode() + raw)
    digest.update(json.dumps([outputs, fmt, tfjs, SCRIPT.read_bytes().decode()]).encode())
    return digest.hexdigest()[:32]


def _base64(strings: np.ndarray) -> list[str]:
    return [base64.b64encode(element).decode() for element in strings.reshape(-1)]


def _pack(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays np.savez stores without pickling: a string tensor becomes NAME#bytes (uint8) and
    NAME#ends (int64, the tensor's shape)."""
    packed = {}
    for name, value in values.items():
        if value.dtype != object:
            packed[name] = value
            continue
        elements = [bytes(element) for element in value.reshape(-1)]
        packed[f"{name}#bytes"] = np.frombuffer(b"".join(elements), np.uint8)
        packed[f"{name}#ends"] = np.cumsum([len(e) for e in elements], dtype=np.int64).reshape(value.shape)
    return packed


def _unpack(saved) -> dict[str, np.ndarray]:
    values = {name: saved[name] for name in saved.files if "#" not in name}
    for name in saved.files:
        if name.endswith("#ends"):
            base, ends = name[:-len("#ends")], saved[name]
            data, starts = saved[f"{base}#bytes"].tobytes(), np.concatenate([[0], ends.reshape(-1)[:-1]])
            strings = [data[a:b] for a, b in zip(starts, ends.reshape(-1))]
            values[base] = np.array(strings, dtype=object).reshape(ends.shape)
    return values


def _write_input(value: np.ndarray, file: str) -> None:
    if value.dtype == object:
        with open(file, "w") as out:
            json.dump(_base64(value), out)
    else:
        np.ascontiguousarray(value, value.dtype.newbyteorder("<")).tofile(file)


def _read_output(spec: dict) -> np.ndarray:
    if spec["dtype"] == "string":
        with open(spec["file"]) as file:
            elements = [base64.b64decode(b64) for b64 in json.load(file)]
        return np.array(elements, dtype=object).reshape(spec["shape"])
    return np.fromfile(spec["file"], NUMPY_OF[spec["dtype"]]).reshape(spec["shape"])


def tfjs_outputs(model_json: Path, inputs: dict[str, np.ndarray], outputs: list[str] | None = None,
                 fmt: str = "graph", tfjs: str = npm.TFJS_VERSION) -> dict[str, np.ndarray]:
    """name -> array, from @tensorflow/tfjs's CPU backend (graph models: `outputs` are tensor names);
    `tfjs` picks the TF.js version (a model's own, where the current one cannot run it)."""
    outputs = outputs or []
    cached = npm.cache_root() / "references" / f"{_key(model_json, inputs, outputs, fmt, tfjs)}.npz"
    if cached.exists():
        with np.load(cached) as saved:
            return _unpack(saved)
    with tempfile.TemporaryDirectory() as scratch:
        specs = []
        for name, value in inputs.items():
            file = os.path.join(scratch, f"input_{len(specs)}.bin")
            _write_input(value, file)
            dtype = "string" if value.dtype == object else str(value.dtype)
            specs.append({"name": name, "dtype": dtype, "shape": list(value.shape), "file": file})
        job = os.path.join(scratch, "job.json")
        with open(job, "w") as file:
            json.dump({"model": str(model_json), "format": fmt, "inputs": specs, "outputs": outputs,
                       "outdir": scratch}, file)
        env = dict(os.environ, NODE_PATH=str(npm.tfjs_dir(tfjs) / "node_modules"))
        try:
            result = subprocess.run(["node", str(SCRIPT), job], capture_output=True, text=True, env=env,
                                    timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"TF.js did not finish {model_json} within {TIMEOUT_S} s") from None
        if result.returncode != 0:
            raise RuntimeError(f"TF.js failed on {model_json}:\n{result.stderr[-3000:]}")
        with open(os.path.join(scratch, "outputs.json")) as file:
            written = json.load(file)
        values = {o["name"]: _read_output(o) for o in written}
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **_pack(values))
    return values
