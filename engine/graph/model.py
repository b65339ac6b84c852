"""GraphModel: a TF.js graph model loaded from model.json, run with numpy in and numpy out."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine import dtypes
from engine.backends import Backend, get_backend
from engine.errors import InputError, ModelFormatError, UnsupportedOpsError
from engine.graph.executor import Executor, Library
from engine.graph.graph import Graph, build_graph, parse_tensor_name
from engine.graph.initializer import bind_resources, initializer_graph, resource_inputs, run_initializer
from engine.graph.fuse_elementwise import fuse_elementwise_chains
from engine.graph.fuse_separable import fuse_separable_convolutions
from engine.graph.optimize import fuse_contractions
from engine.graph.plan import TensorKey
from engine.graph.replay import Replays
from engine.graph.warmup import compile_ahead, example_values
from engine.io import GRAPH_MODEL, ModelArtifacts, graph_def, load_model_json, read_weight_arrays
from engine.kernels import register_all  # noqa: F401  (every kernel registered before a model runs)
from engine.kernels.cpu.hash_table import Resources
from engine.kernels.registry import EXECUTOR_OPS
from engine.tensors import Tensor, caller_values


_LIKE_SHAPE = object()  # TensorInfo.accepted_shape's default: the same as `shape`


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output: its public name (signature key or node name), graph tensor, shape, dtype.

    `shape` is the one the model declares (its signature's; warm-ups and examples use it);
    `accepted_shape` the one an input is checked against: a Placeholder's `shape` attr (none or of
    unknown rank: any shape), as TF.js checks it, since a signature may be narrower than the graph (a
    detector declared at [1, 320, 320, 3] whose placeholder takes [1, -1, -1, 3]). None: any shape."""

    name: str
    tensor: str
    shape: tuple[int | None, ...] | None
    dtype: str
    accepted_shape: tuple[int | None, ...] | None = _LIKE_SHAPE  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.accepted_shape is _LIKE_SHAPE:
            object.__setattr__(self, "accepted_shape", self.shape)

    @property
    def key(self) -> TensorKey:
        return parse_tensor_name(self.tensor)


def missing_ops(graph: Graph, backend: Backend) -> dict[str, list[str]]:
    """op -> nodes using it, for every op neither the backend nor the executor handles."""
    missing: dict[str, list[str]] = {}
    for node in graph.all_nodes():
        if node.op not in EXECUTOR_OPS and not backend.supports(node.op):
            missing.setdefault(node.op, []).append(node.name)
    return missing


class GraphModel:
    """A TF.js graph model. `predict`/`execute` take and return numpy arrays."""

    def __init__(self, artifacts: ModelArtifacts, weights: Mapping[str, np.ndarray], backend: str | None = None):
        if artifacts.format != GRAPH_MODEL:
            raise ModelFormatError(f"expected a graph-model, got {artifacts.format!r}; use load_layers_model")
        topology = artifacts.model_topology
        self.artifacts = artifacts
        self.graph = build_graph(graph_def.decode_nodes(topology.get("node", [])),
                                 graph_def.decode_functions(topology.get("library")))
        self._backend_name = get_backend(backend).name
        initializer = initializer_graph(artifacts)
        missing = missing_ops(self.graph, self.backend)
        for op, nodes in (missing_ops(initializer, self.backend) if initializer else {}).items():
            missing.setdefault(op, []).extend(nodes)
        if missing:
            raise UnsupportedOpsError(missing)
        # The model's hash tables: made and filled once, by the initializer graph, here.
        self.resources = Resources()
        captured = resource_inputs(artifacts.signature)
        made = run_initializer(initializer, artifacts, weights, self.resources) if initializer else {}
        self._bound = bind_resources(self.graph, captured, made)
        # The library reads the calling thread's backend from the state alone, not through the model: a
        # model in a reference cycle would keep its textures until a garbage collection found it.
        self._state = state = threading.local()
        self.library = Library(self.graph.functions, weights, lambda: state.backend, self.resources)
        self.inputs, self.outputs = self._signature(artifacts.signature or {})
        fused_graph, fused_weights = fuse_contractions(self.graph, weights)
        outputs = {info.key[0] for info in self.outputs}
        if self.backend.fuses_separable:
            fused_graph = fuse_separable_convolutions(fused_graph, protected=outputs)
        if self.backend.fuses_elementwise:
            fused_graph = fuse_elementwise_chains(fused_graph, protected=outputs)
        self.executor = Executor(fused_graph, fused_weights, self.library, self._bound)
        self._weights = weights
        self._unfused_executor: Executor | None = None
        self.replays = Replays()
        self.metadata = artifacts.user_defined_metadata or {}

    @property
    def backend(self) -> Backend:
        """This thread's instance of the model's backend: each thread has its own GL context, so a
        model used from several threads runs on each thread's context (uploading weights once per
        context)."""
        return get_backend(self._backend_name)

    # -- signature ------------------------------------------------------------------------------
    def _signature(self, signature: dict) -> tuple[list[TensorInfo], list[TensorInfo]]:
        def infos(entries: dict) -> list[TensorInfo]:
            out = []
            for key, info in (entries or {}).items():
                if not isinstance(info, dict) or not isinstance(info.get("name"), str):
                    raise ModelFormatError(f"signature entry {key!r} has no tensor name")
                name, _ = parse_tensor_name(info["name"])
                if name in self._bound:  # a captured resource, not an input the caller gives
                    continue
                if info.get("dtype") == "DT_RESOURCE":
                    raise ModelFormatError(f"signature input {key!r} is a resource (a hash table the model captures) "
                                           "with no resourceId: the model has no initializer that makes it")
                if name not in self.graph.nodes:
                    raise ModelFormatError(f"signature entry {key!r} names {info['name']!r}, which is not in the graph")
                shape = _shape(graph_def.decode_shape(info["tensorShape"]) if "tensorShape" in info else None)
                dtype = dtypes.storage_dtype(dtypes.tf_type_name(info["dtype"])) if "dtype" in info else "float32"
                node = self.graph.nodes[name]
                accepted = _shape(node.attrs.get("shape")) if node.op in _PLACEHOLDERS else shape
                out.append(TensorInfo(key, info["name"], shape, dtype, accepted))
            return out

        inputs, outputs = infos(signature.get("inputs")), infos(signature.get("outputs"))
        if not inputs:
            inputs = [self._node_info(node) for node in self.graph.nodes.values()
                      if node.op == "Placeholder" and node.name not in self._bound]
        if not outputs:
            consumed = {source for node in self.graph.nodes.values()
                        for source in [s for s, _ in node.inputs] + node.control_inputs}
            outputs = [TensorInfo(n.name, f"{n.name}:0", None, _dtype_attr(n)) for n in self.graph.nodes.values()
                       if n.name not in consumed and n.op not in ("Const", "NoOp", "Placeholder")]
        return inputs, outputs

    def _node_info(self, node) -> TensorInfo:
        return TensorInfo(node.name, f"{node.name}:0", _shape(node.attrs.get("shape")), _dtype_attr(node))

    # -- running ----------------------------------------------------------------------------------
    def predict(self, x: Any) -> np.ndarray | dict[str, np.ndarray]:
        """Runs the model on its signature outputs: one output -> array, several -> dict by output name."""
        results = self.execute(x, [info.name for info in self.outputs])
        if len(self.outputs) == 1:
            return results[0]
        return {info.name: value for info, value in zip(self.outputs, results)}

    def execute(self, inputs: Any, outputs: str | Sequence[str] | None = None) -> np.ndarray | list[np.ndarray]:
        """Runs the graph. `inputs`: an array (single input), a list (in `model.inputs` order) or a
        dict by signature key / node name / tensor name. `outputs`: one name or a list of names
        (signature key, node name or 'node:index'); a single name returns a single array."""
        feeds = self._feeds(inputs)
        names = [info.name for info in self.outputs] if outputs is None else \
            [outputs] if isinstance(outputs, str) else list(outputs)
        fetches = [self._resolve(name, self.outputs, "output") for name in names]
        tensors = self.run(feeds, fetches)
        arrays = [caller_values(t) for t in tensors]
        return arrays[0] if isinstance(outputs, str) else arrays

    def run(self, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey]) -> list[Tensor]:
        """Tensor-level execution (no conversion): what predict/execute and benchmarks call."""
        self._state.backend = self.backend
        executor = self._executor_for(feeds, fetches)
        with self.backend.session(executor.workload(feeds, fetches)):
            return self.replays.run(executor, feeds, fetches, self.backend)

    def run_on(self, backend: Backend, inputs: Any, fused: bool = True) -> list[np.ndarray]:
        """The signature outputs computed on `backend`, an instance the caller made or wraps (the
        conformance report's float64 CPU backend, or one that watches every node), never replayed.
        fused=False runs the graph as model.json has it: every node as itself."""
        feeds = self._feeds(inputs)
        fetches = [info.key for info in self.outputs]
        self._state.backend = backend
        with backend.session():
            tensors = (self.executor if fused else self._unfused()).run(feeds, fetches, backend)
        return [caller_values(t) for t in tensors]

    def _executor_for(self, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey]) -> Executor:
        """The fused graph, unless a feed or fetch names a tensor fusion removed."""
        names = {name for name, _ in list(feeds) + list(fetches)}
        if names <= set(self.executor.graph.nodes):
            return self.executor
        return self._unfused()

    def _unfused(self) -> Executor:
        if self._unfused_executor is None:
            self._unfused_executor = Executor(self.graph, self._weights, self.library, self._bound)
        return self._unfused_executor

    def warmup(self, inputs: Any = None) -> None:
        """Compiles every program a call needs and uploads the weights it reads on the GPU, without running
        the model's math (engine/graph/warmup.py).
        `inputs`: None for the signature's shapes (unknown dimensions 1), or a dict by input name / a
        list in input order of shapes or example arrays. Warms this thread's GL context."""
        if isinstance(inputs, Mapping):  # by the names predict() takes: signature key, node or tensor name
            names = {info.key: info.name for info in self.inputs}
            inputs = {names.get(self._resolve(name, self.inputs, "input"), name): value
                      for name, value in inputs.items()}
        feeds = self._feeds({info.name: value for info, value in zip(self.inputs, example_values(self.inputs, inputs))})
        fetches = [info.key for info in self.outputs]
        executor = self._executor_for(feeds, fetches)
        self._state.backend = backend = self.backend
        executor.plan(list(feeds), fetches)
        compile_ahead(backend, lambda on_gpu: executor.run(on_gpu, fetches, backend), feeds)
        self.replays.warmed(executor, feeds, fetches, backend)

    def _resolve(self, name: str, infos: Sequence[TensorInfo], kind: str) -> TensorKey:
        for info in infos:
            if name in (info.name, info.tensor):
                return info.key
        node, index = parse_tensor_name(name)
        if node in self.graph.nodes:
            return node, index
        known = ", ".join(info.name for info in infos)
        raise InputError(f"unknown {kind} {name!r}; the model's {kind}s are: {known}")

    def _feeds(self, inputs: Any) -> dict[TensorKey, Tensor]:
        if isinstance(inputs, Mapping):
            named = dict(inputs)
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) != len(self.inputs):
                raise InputError(f"the model takes {len(self.inputs)} inputs, got a list of {len(inputs)}")
            named = {info.name: value for info, value in zip(self.inputs, inputs)}
        else:
            if len(self.inputs) != 1:
                raise InputError(f"the model takes {len(self.inputs)} inputs "
                                 f"({', '.join(i.name for i in self.inputs)}); pass a dict")
            named = {self.inputs[0].name: inputs}
        feeds = {}
        for name, value in named.items():
            key = self._resolve(name, self.inputs, "input")
            info = next((i for i in self.inputs if i.key == key), None) or self._placeholder_info(key)
            feeds[key] = check_input(name, value, info)
        given = set(feeds)
        absent = [i.name for i in self.inputs if i.key not in given]
        if absent:
            raise InputError(f"missing input(s): {', '.join(absent)}")
        return feeds

    def _placeholder_info(self, key: TensorKey) -> TensorInfo | None:
        node = self.graph.nodes[key[0]]
        return self._node_info(node) if node.op in _PLACEHOLDERS else None

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}{list(i.shape) if i.shape is not None else ''}:{i.dtype}" for i in self.inputs)
        outs = ", ".join(i.name for i in self.outputs)
        return f"GraphModel(inputs=[{ins}], outputs=[{outs}], backend={self.backend.name})"


_PLACEHOLDERS = ("Placeholder", "PlaceholderWithDefault")


def _shape(shape) -> tuple[int | None, ...] | None:
    return None if shape is None else tuple(None if d < 0 else d for d in shape)


def _dtype_attr(node) -> str:
    value = node.attrs.get("dtype") or node.attrs.get("T")
    return dtypes.storage_dtype(value) if isinstance(value, str) else "float32"


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype == "float32":
        return rng.standard_normal(shape).astype(np.float32)
    if dtype == "int32":
        return rng.integers(0, 10, shape).astype(np.int32)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype == "complex64":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    return np.full(shape, b"a", dtype=object)


# numpy kinds an input may arrive as for each signature dtype (ints feed float inputs; bools feed only bools)
_SAFE_CASTS = {"float32": "iuf", "int32": "iu", "bool": "b", "complex64": "iufc", "string": "OSU"}


def check_input(name: str, value: Any, info: TensorInfo | None) -> Tensor:
    """Converts one input to a Tensor, checking its dtype against the signature and its shape against
    `info.accepted_shape`. A caller's array becomes a copy: kernels' caches keep what they read (an
    epilogue's bias, a chain's constants), and the caller may write into its array between calls."""
    if isinstance(value, Tensor):
        tensor = value
    else:
        array = np.asarray(value)
        dtype = info.dtype if info is not None else None
        if dtype is not None and array.dtype.kind not in _SAFE_CASTS[dtype]:
            raise InputError(f"input {name!r} must be {dtype}, got an array of {array.dtype}")
        array = dtypes.to_storage(array, dtype)
        if isinstance(value, np.ndarray) and np.may_share_memory(array, value):
            array = array.copy()
        tensor = Tensor(array, dtype or dtypes.dtype_of_array(array))
    if info is None:
        return tensor
    if tensor.dtype != info.dtype:
        raise InputError(f"input {name!r} must be {info.dtype}, got a {tensor.dtype} tensor")
    expected = info.accepted_shape
    if expected is not None:
        if len(tensor.shape) != len(expected) or any(e is not None and e != d for e, d in zip(expected, tensor.shape)):
            pretty = [-1 if d is None else d for d in expected]
            raise InputError(f"input {name!r} must have shape {pretty} (-1: any), got {list(tensor.shape)}")
    return tensor


def load_graph_model(location: str | os.PathLike, backend: str | None = None,
                     headers: Mapping[str, str] | None = None, progress: bool = False,
                     warmup: bool = False) -> GraphModel:
    """Loads a TF.js graph model from a model.json path (or its folder), file:// or http(s):// URL;
    `warmup` compiles its programs and uploads its weights for the signature's shapes before returning
    (GraphModel.warmup)."""
    artifacts = load_model_json(location, headers)
    weights = read_weight_arrays(artifacts.weights_manifest, artifacts.base, artifacts.headers, progress=progress)
    model = GraphModel(artifacts, weights, backend)
    if warmup:
        model.warmup()
    return model
