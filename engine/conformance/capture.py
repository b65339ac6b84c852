"""Every node's outputs from one run of a model's unfused graph (each node of the model.json as
itself: load-time fusion would merge a convolution and its activation into one node the file does
not have), on any backend, and the float64 CPU backend the default reference runs on."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine import dtypes
from engine.backends import Backend, CPUBackend, get_backend
from engine.backends.base import as_outputs, as_tensor
from engine.errors import InputError
from engine.graph import GraphModel
from engine.tensors import Tensor

TensorName = str  # "node" for a node's first output, "node:1" for its second


def backend_named(name: str) -> Backend:
    """The backend engine.get_backend gives for `name`; an unknown or unavailable one is the user's error."""
    try:
        backend = get_backend(name)
    except ValueError as error:
        raise InputError(str(error)) from None
    if name != "cpu" and backend.name == "cpu":
        raise InputError(f"backend {name} is not available here (no GL context)")
    return backend


def tensor_name(node: str, index: int) -> TensorName:
    return node if index == 0 else f"{node}:{index}"


class Float64CPUBackend(CPUBackend):
    """tfgl's CPU kernels computing in float64: float32 inputs (the weights, the feeds) are widened
    as they enter a kernel and float64 results stay float64 (labelled float32, the dtype the graph
    means). A kernel that casts to float32 itself still gives float32; the report lists those nodes."""

    def call(self, kernel, inputs: list, attrs: dict) -> list:
        if kernel.backend != "cpu":
            return super().call(kernel, inputs, attrs)
        args = [_widened(x.numpy()) if isinstance(x, Tensor) else x for x in inputs]
        with np.errstate(all="ignore"):
            result = kernel.fn(*args, **attrs)
        return [Tensor(out, "float32") if isinstance(out, np.ndarray) and out.dtype == np.float64 else as_tensor(out)
                for out in as_outputs(result)]


def _widened(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float64) if array.dtype == np.float32 else array


class _Watcher:
    """Stands in for a backend: runs each op on it and hands a copy of every output of the graph's
    own nodes (not of the nodes inside a function a node calls), read before the executor frees it,
    to `on_tensor`."""

    folds_static_values = False  # every node runs, to be seen

    def __init__(self, backend: Backend, nodes: set[str], on_tensor: Callable[[TensorName, np.ndarray], None],
                 on_node: Callable[[], None]):
        self._backend = backend
        self._nodes = nodes
        self._on_tensor = on_tensor
        self._on_node = on_node
        self._depth = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def runner(self, op: str, attrs: dict, node: str):
        """None: every op comes through `run`, where its outputs are seen (a backend's own runner,
        found through __getattr__, would pass them by)."""
        return None

    def run(self, op: str, inputs, attrs: dict | None = None, node: str | None = None) -> list:
        self._depth += 1
        try:
            outputs = self._backend.run(op, inputs, attrs, node)
        finally:
            self._depth -= 1
        if self._depth == 0 and node in self._nodes:
            for index, out in enumerate(outputs):
                if isinstance(out, Tensor) and out.dtype != "string":
                    self._on_tensor(tensor_name(node, index), _read(out))
            self._on_node()
        return outputs


def _read(tensor: Tensor) -> np.ndarray:
    """The values, without caching them in the tensor (a kernel that finds values on the host may
    take another path than the one a normal run takes)."""
    if tensor.has_values():
        return np.array(tensor.numpy(), copy=True)
    return dtypes.to_storage(tensor.device_data.download(), tensor.dtype).reshape(tensor.shape)


def watch(model: GraphModel, backend: Backend, inputs: dict[str, np.ndarray],
          on_tensor: Callable[[TensorName, np.ndarray], None], on_node: Callable[[], None] = lambda: None) -> None:
    """Runs the unfused graph once on `backend`, calling on_tensor(name, values) for every tensor its
    nodes produce, in execution order (a node inside a loop frame: once per iteration)."""
    model.run_on(_Watcher(backend, set(model.graph.nodes), on_tensor, on_node), inputs, fused=False)  # type: ignore[arg-type]


def capture(model: GraphModel, backend: Backend, inputs: dict[str, np.ndarray]) -> dict[TensorName, np.ndarray]:
    """Every tensor the unfused graph's nodes produce in one run on `backend` (a node inside a loop
    frame: its last iteration's value)."""
    values: dict[TensorName, np.ndarray] = {}
    watch(model, backend, inputs, values.__setitem__)
    return values


def loop_frame_nodes(model: GraphModel) -> set[str]:
    """The nodes inside a v1 while loop (from an Enter up to, not including, its Exit): they run once
    per iteration, and TensorFlow and TF.js return no single value for them."""
    consumers = model.graph.consumers()
    inside: set[str] = set()
    stack = [name for name, node in model.graph.nodes.items() if node.op in ("Enter", "RefEnter")]
    while stack:
        name = stack.pop()
        if name in inside or model.graph.nodes[name].op in ("Exit", "RefExit"):
            continue
        inside.add(name)
        stack.extend(consumers[name])
    return inside


def graph_depths(model: GraphModel) -> dict[str, int]:
    """Each node's depth: the longest chain of data inputs back to a node with none (an input, a
    constant). A v1 loop's back edge (NextIteration into Merge) is not followed."""
    nodes = model.graph.nodes
    depth: dict[str, int] = {}
    visiting: set[str] = set()
    for start in nodes:
        stack = [(start, False)]
        while stack:
            name, inputs_done = stack.pop()
            if name in depth:
                continue
            if inputs_done:
                visiting.discard(name)
                depth[name] = 1 + max((depth[s] for s, _ in nodes[name].inputs if s in depth), default=-1)
                continue
            visiting.add(name)
            stack.append((name, True))
            stack.extend((s, False) for s, _ in nodes[name].inputs if s not in depth and s not in visiting)
    return depth
