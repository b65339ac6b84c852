"""TF.js's outputs for a model and inputs: run once in node, then cached on disk."""
from __future__ import annotations

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


def _key(model_json: Path, inputs: dict[str, np.ndarray], outputs: list[str], fmt: str) -> str:
    """Hash of the model's own files (model.json and the shards it names), the inputs, the outputs
    asked for and the TF.js version."""
    digest = hashlib.sha256()
    raw = model_json.read_bytes()
    digest.update(raw)
    for group in json.loads(raw).get("weightsManifest", []):
        for shard in group.get("paths", []):
            digest.update((model_json.parent / shard).read_bytes())
    for name in sorted(inputs):
        digest.update(name.encode() + str(inputs[name].dtype).encode() + inputs[name].tobytes())
    digest.update(json.dumps([outputs, fmt, npm.TFJS_VERSION, SCRIPT.read_bytes().decode()]).encode())
    return digest.hexdigest()[:32]


def tfjs_outputs(model_json: Path, inputs: dict[str, np.ndarray], outputs: list[str] | None = None,
                 fmt: str = "graph") -> dict[str, np.ndarray]:
    """name -> array, from @tensorflow/tfjs's CPU backend (graph models: `outputs` are tensor names)."""
    outputs = outputs or []
    cached = npm.cache_root() / "references" / f"{_key(model_json, inputs, outputs, fmt)}.npz"
    if cached.exists():
        with np.load(cached) as saved:
            return {name: saved[name] for name in saved.files}
    with tempfile.TemporaryDirectory() as scratch:
        specs = []
        for name, value in inputs.items():
            file = os.path.join(scratch, f"input_{len(specs)}.bin")
            np.ascontiguousarray(value, value.dtype.newbyteorder("<")).tofile(file)
            specs.append({"name": name, "dtype": str(value.dtype), "shape": list(value.shape), "file": file})
        job = os.path.join(scratch, "job.json")
        with open(job, "w") as file:
            json.dump({"model": str(model_json), "format": fmt, "inputs": specs, "outputs": outputs,
                       "outdir": scratch}, file)
        env = dict(os.environ, NODE_PATH=str(npm.tfjs_dir() / "node_modules"))
        try:
            result = subprocess.run(["node", str(SCRIPT), job], capture_output=True, text=True, env=env,
                                    timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"TF.js did not finish {model_json} within {TIMEOUT_S} s") from None
        if result.returncode != 0:
            raise RuntimeError(f"TF.js failed on {model_json}:\n{result.stderr[-3000:]}")
        with open(os.path.join(scratch, "outputs.json")) as file:
            written = json.load(file)
        values = {o["name"]: np.fromfile(o["file"], NUMPY_OF[o["dtype"]]).reshape(o["shape"]) for o in written}
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **values)
    return values
