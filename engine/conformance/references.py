"""The values a report measures against: tfgl's CPU kernels in float64 (`cpu`), TensorFlow running
the model through tfgl's reverse converter (`tf`), or TF.js in node (`tfjs`). Each gives every
tensor it can compute; a tensor it cannot is reported as having no reference."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.conformance.capture import Float64CPUBackend, TensorName, capture, loop_frame_nodes
from engine.errors import TfglError
from engine.graph import GraphModel

REFERENCES = ("cpu", "tf", "tfjs")
TFJS_SCRIPT = Path(__file__).with_name("tfjs_nodes.js")
TFJS_TIMEOUT_S = 1800
# where tfgl's own tests install TF.js ($TFGL_CACHE/node/tfjs-<version>/node_modules): looked in last
TFJS_TEST_INSTALL = "tfjs-4.22.0"


def reference_values(kind: str, model: GraphModel, location: str, inputs: dict[str, np.ndarray],
                     tensors: Sequence[TensorName]) -> dict[TensorName, np.ndarray]:
    """`location`: the model.json's path (TensorFlow and TF.js load the model themselves). Those two
    give no value for a tensor inside a loop frame."""
    if kind == "cpu":
        return capture(model, Float64CPUBackend(), inputs)
    if kind in ("tf", "tfjs") and not os.path.isfile(location):
        raise TfglError(f"--reference {kind} reads the model itself: give a local model.json path, not {location}")
    in_loops = loop_frame_nodes(model)
    tensors = [name for name in tensors if name.rsplit(":", 1)[0] not in in_loops]
    if kind == "tf":
        return _tensorflow(model, location, inputs, tensors)
    if kind == "tfjs":
        return _tfjs(model, location, inputs, tensors)
    raise TfglError(f"unknown reference {kind!r}: use one of {', '.join(REFERENCES)}")


def _key(name: TensorName) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:0"


def _tensorflow(model: GraphModel, location: str, inputs: dict[str, np.ndarray], tensors: Sequence[TensorName]) -> dict:
    try:
        import tensorflow as tf
        from converter.reverse import load_as_graph_def
    except ImportError:
        raise TfglError("--reference tf needs TensorFlow: pip install 'tfgl[converter]'") from None
    graph_def, _ = load_as_graph_def(location)
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    feeds = {_key(info.tensor): inputs[info.name] for info in model.inputs}
    present = [name for name in tensors if _in_graph(graph, _key(name))]
    with tf.compat.v1.Session(graph=graph) as session:
        return _fetch_what_runs(session, present, feeds, tf.errors.OpError)


def _fetch_what_runs(session, names: list[TensorName], feeds: dict, errors) -> dict[TensorName, np.ndarray]:
    """Every tensor TensorFlow computes: a fetch that fails (a branch not taken) is halved until the
    tensors it cannot give are left out, a few runs per such tensor."""
    try:
        return dict(zip(names, session.run([_key(name) for name in names], feeds)))
    except errors:
        if len(names) == 1:
            return {}
        half = len(names) // 2
        return {**_fetch_what_runs(session, names[:half], feeds, errors),
                **_fetch_what_runs(session, names[half:], feeds, errors)}


def _in_graph(graph, key: str) -> bool:
    try:
        graph.get_tensor_by_name(key)
    except (KeyError, ValueError):
        return False
    return True


def tfjs_modules() -> Path | None:
    """A folder whose node_modules holds @tensorflow/tfjs: $TFGL_TFJS_DIR, the current folder, or
    the one tfgl's own tests install into $TFGL_CACHE."""
    cache = Path(os.environ.get("TFGL_CACHE", Path.home() / ".cache" / "tfgl"))
    for folder in (os.environ.get("TFGL_TFJS_DIR"), os.getcwd(), cache / "node" / TFJS_TEST_INSTALL):
        if folder and (Path(folder) / "node_modules" / "@tensorflow" / "tfjs").is_dir():
            return Path(folder)
    return None


def _tfjs(model: GraphModel, location: str, inputs: dict[str, np.ndarray], tensors: Sequence[TensorName]) -> dict:
    node, modules = shutil.which("node"), tfjs_modules()
    if node is None or modules is None:
        raise TfglError("--reference tfjs needs node and @tensorflow/tfjs: `npm install @tensorflow/tfjs` in a folder "
                        "and point TFGL_TFJS_DIR at it")
    with tempfile.TemporaryDirectory(prefix="tfgl-tfjs-") as scratch:
        specs = []
        for index, info in enumerate(model.inputs):
            value = np.asarray(inputs[info.name])  # (not ascontiguousarray: it makes a scalar 1-d)
            path = Path(scratch) / f"input{index}.bin"
            path.write_bytes(value.astype(value.dtype.newbyteorder("<"), copy=False).tobytes())
            specs.append({"name": info.tensor, "dtype": str(value.dtype), "shape": list(value.shape),
                          "file": str(path)})
        job = {"model": os.path.abspath(location),
               "inputs": specs, "outputs": [_key(name) for name in tensors], "outdir": scratch}
        (Path(scratch) / "job.json").write_text(json.dumps(job))
        env = dict(os.environ, NODE_PATH=str(modules / "node_modules"))
        try:
            done = subprocess.run([node, str(TFJS_SCRIPT), str(Path(scratch) / "job.json")], env=env,
                                  capture_output=True, text=True, timeout=TFJS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TfglError(f"TF.js took more than {TFJS_TIMEOUT_S} s; no reference") from None
        if done.returncode != 0:
            raise TfglError(f"TF.js failed: {done.stderr.strip()[-1500:]}")
        written = json.loads((Path(scratch) / "outputs.json").read_text())
        by_key = {_key(name): name for name in tensors}
        dtype = {"float32": "<f4", "int32": "<i4", "bool": "u1"}
        return {by_key[entry["name"]]: np.fromfile(entry["file"], dtype[entry["dtype"]]).reshape(entry["shape"])
                for entry in written if entry["dtype"] in dtype}
