"""LayersModel: a TF.js layers model, built into an op graph per set of input shapes and run by the
same executor and kernels as graph models."""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import dtypes
from engine.backends import Backend, get_backend
from engine.errors import InputError, ModelFormatError, UnsupportedOpsError
from engine.graph.executor import Executor, Library
from engine.graph.model import GraphModel, TensorInfo, check_input, missing_ops
from engine.graph.replay import Replays
from engine.graph.warmup import compile_ahead, example_values
from engine.io import LAYERS_MODEL, ModelArtifacts, load_model_json, read_weight_arrays
from engine.io.keras_store import rename_store_keys
from engine.layers import (  # noqa: F401  (registers the layer builders)
    convolutional,
    core,
    merge,
    noise,
    normalization,
    pooling,
    recurrent,
    reshaping,
    wrappers,
)
from engine.layers.builder import GraphBuilder, Sym
from engine.layers.keras_api import KerasAPI
from engine.layers.config import ModelSpec, TensorRef, model_config, parse_model
from engine.layers.registry import LayerContext, WeightStore, builder_for, layer
from engine.tensors import Tensor, caller_values

NESTED_MODELS = ("Functional", "Model", "Sequential")


@dataclass(frozen=True)
class TrainingIO:
    """What one built graph reads and gives besides inputs and outputs, by manifest name: `nodes`,
    the Const node each weight is read from (feeding a tensor there runs the graph with that value);
    `updates`, the graph tensor holding a weight's value after a training step, for the weights a
    layer updates itself (BatchNormalization's moving statistics); `noise`, the Placeholders a
    training step fills with noise (engine.layers.noise: Dropout's masks, ...); `trainable`, the
    weights gradients are taken for: those the graph reads, less the self-updated and the frozen
    layers' ones, in manifest order."""

    nodes: dict[str, str]
    updates: dict[str, tuple[str, int]]
    noise: dict[str, Any]
    trainable: list[str]


def build_model(g: GraphBuilder, spec: ModelSpec, inputs: list[Sym], weights: WeightStore, scopes: list[str],
                keras_version: str) -> list[Sym]:
    """Emits the ops of every layer call of `spec`, fed with `inputs`; returns its outputs."""
    if len(inputs) != len(spec.inputs):
        raise ModelFormatError(f"model {spec.name!r} takes {len(spec.inputs)} inputs, got {len(inputs)}")
    tensors: dict[TensorRef, Sym] = dict(zip(spec.inputs, inputs))
    pending = [(layer_spec, index) for layer_spec in spec.layers for index in range(len(layer_spec.calls))]
    while pending:
        progressed, waiting = False, []
        for layer_spec, index in pending:
            refs = layer_spec.calls[index]
            if not all(ref in tensors for ref in refs):
                waiting.append((layer_spec, index))
                continue
            outputs = _call_layer(g, layer_spec, [tensors[r] for r in refs], layer_spec.call_kwargs[index],
                                  weights, scopes, keras_version)
            for position, out in enumerate(outputs):
                tensors[TensorRef(layer_spec.name, index, position)] = out
            progressed = True
        if not progressed:
            stuck = ", ".join(sorted({s.name for s, _ in waiting})[:5])
            raise ModelFormatError(f"model {spec.name!r}: layers {stuck} take inputs no layer produces")
        pending = waiting
    missing = [ref for ref in spec.outputs if ref not in tensors]
    if missing:
        raise ModelFormatError(f"model {spec.name!r}: outputs {missing} are not produced by any layer")
    return [tensors[ref] for ref in spec.outputs]


def _call_layer(g: GraphBuilder, layer_spec, inputs: list[Sym], kwargs: dict, weights: WeightStore,
                scopes: list[str], keras_version: str) -> list[Sym]:
    builder = builder_for(layer_spec.class_name)
    if builder is None:
        raise ModelFormatError(f"unknown layer class {layer_spec.class_name!r} (layer {layer_spec.name!r})")
    ctx = LayerContext(g, layer_spec, weights, scopes, keras_version)
    result = builder(ctx, inputs, kwargs)
    return list(result) if isinstance(result, (list, tuple)) else [result]


@layer(*NESTED_MODELS)
def nested_model(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> list[Sym]:
    """A model used as a layer: its layers are inlined under its name."""
    spec = parse_model({"class_name": ctx.spec.class_name, "config": ctx.config})
    if spec.class_name == "Sequential" and spec.layers[0].class_name == "InputLayer" and len(inputs) == 1:
        spec.inputs = [spec.inputs[0]]
    keras_version = "3" if ctx.keras3 else "2"
    return build_model(ctx.g, spec, inputs, ctx.weights, ctx.scopes + [ctx.name], keras_version)


@layer("InputLayer")
def input_layer(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> list[Sym]:
    return inputs


class LayersModel(KerasAPI):
    """A TF.js layers model. `predict`/`execute` take and return numpy arrays, like GraphModel;
    compile / fit / evaluate / save train it (engine/layers/keras_api.py)."""

    def __init__(self, artifacts: ModelArtifacts, weights: Mapping[str, np.ndarray], backend: str | None = None):
        if artifacts.format != LAYERS_MODEL:
            raise ModelFormatError(f"expected a layers-model, got {artifacts.format!r}; use load_graph_model")
        topology = artifacts.model_topology
        self.artifacts = artifacts
        self.keras_version = str(topology.get("keras_version", "2"))
        self.spec = parse_model(model_config(topology))
        # an archive's store keys (the official converter's output from a Keras 3 .keras file) renamed
        self.weights = rename_store_keys(model_config(topology), weights)
        self._backend_name = get_backend(backend).name
        self.replays = Replays()
        self.inputs = [self._input_info(ref) for ref in self.spec.inputs]
        self.outputs = self._output_infos()
        self.metadata = artifacts.user_defined_metadata or {}
        self._built: dict[tuple, tuple[Executor, list, list]] = {}
        self._training_io: dict[tuple, TrainingIO] = {}
        self._lock = threading.Lock()
        # top-level layers set trainable=False, first as the topology says (Keras honours it too)
        self.frozen = frozenset(s.name for s in self.spec.layers if s.config.get("trainable") is False)
        self._validate()

    def _input_info(self, ref: TensorRef) -> TensorInfo:
        layer_spec = next((s for s in self.spec.layers if s.name == ref.layer), None)
        if layer_spec is None or layer_spec.class_name != "InputLayer":
            raise ModelFormatError(f"model input {ref.layer!r} is not an InputLayer")
        config = layer_spec.config
        shape = config.get("batch_input_shape") or config.get("batch_shape")
        dtype = config.get("dtype", "float32")
        dtype = dtype if isinstance(dtype, str) else "float32"
        return TensorInfo(ref.layer, f"{ref.layer}:0", None if shape is None else
                          tuple(None if d is None else int(d) for d in shape), dtypes.storage_dtype(dtype))

    def _output_infos(self) -> list[TensorInfo]:
        """One name per output: the layer's name, with ':index' where a layer gives several outputs
        (an RNN's sequence and states, Bidirectional without merging)."""
        layers = [ref.layer for ref in self.spec.outputs]
        return [TensorInfo(ref.layer if layers.count(ref.layer) == 1 else f"{ref.layer}:{ref.tensor}",
                           f"{ref.layer}:{ref.tensor}", None, "float32") for ref in self.spec.outputs]

    def _validate(self) -> None:
        """Unknown layer classes fail at load time, naming class and layer."""
        def walk(spec: ModelSpec):
            for layer_spec in spec.layers:
                if builder_for(layer_spec.class_name) is None:
                    raise ModelFormatError(f"unknown layer class {layer_spec.class_name!r} (layer {layer_spec.name!r})")
                if layer_spec.class_name in NESTED_MODELS:
                    walk(parse_model({"class_name": layer_spec.class_name, "config": layer_spec.config}))
        walk(self.spec)

    @functools.cached_property
    def weight_order(self) -> list[str]:
        """The weights' manifest names in Keras's order (model.weights, get_weights): by layer in the
        topology's order, nested models' layers in theirs, each layer's as its manifest lists them.
        A converted .keras archive lists its layers by name instead."""
        order: list[str] = []
        store, keras_version = WeightStore(self.weights), self.keras_version

        # walk refers to itself, a cycle a collection ends: it must not hold the model meanwhile
        def walk(spec: ModelSpec, scopes: list[str]) -> None:
            for layer_spec in spec.layers:
                if layer_spec.class_name in NESTED_MODELS:
                    walk(parse_model({"class_name": layer_spec.class_name, "config": layer_spec.config}),
                         scopes + [layer_spec.name])
                    continue
                names = LayerContext(GraphBuilder(), layer_spec, store, scopes, keras_version).weight_names()
                order.extend(name for name in names if name not in order)
        walk(self.spec, [self.spec.name])
        return order + [name for name in self.weights if name not in order]

    @property
    def backend(self) -> Backend:
        """This thread's instance of the model's backend: each thread has its own GL context, so a
        model used from several threads runs on each thread's context (uploading weights once per
        context)."""
        return get_backend(self._backend_name)

    # -- building ---------------------------------------------------------------------------------
    def build(self, shapes: Sequence[tuple[int, ...]], training: bool = False) -> tuple[Executor, list, list]:
        """The op graph for inputs of these shapes (built once, then cached); `training`: the layers'
        training-mode ops (GraphBuilder)."""
        key = (tuple(tuple(s) for s in shapes), training, self.frozen if training else frozenset())
        with self._lock:
            if key not in self._built:
                g = GraphBuilder(training, self.frozen)
                placeholders = [g.placeholder(info.name, shape, info.dtype) for info, shape in zip(self.inputs, shapes)]
                store = WeightStore(self.weights)
                # the model's own name as the outer scope: Keras 3 names a top-level Sequential's
                # weights "sequential/dense/kernel", everything else "dense/kernel"
                outputs = build_model(g, self.spec, placeholders, store, [self.spec.name], self.keras_version)
                graph = g.graph()
                missing = missing_ops(graph, self.backend)
                if missing:
                    raise UnsupportedOpsError(missing)
                # the backend by name, not through the model: a model in a reference cycle would keep
                # its textures until a garbage collection found it
                this_threads_backend = functools.partial(get_backend, self._backend_name)
                executor = Executor(graph, g.constants, Library({}, {}, this_threads_backend))
                self._built[key] = (executor, [p.key for p in placeholders], [o.key for o in outputs])
                nodes = store.node_names()
                trainable = [name for name in self.weights if name in nodes and name not in g.state_updates
                             and store.owners.get(name) not in self.frozen]
                self._training_io[key] = TrainingIO(nodes, {name: sym.key for name, sym in g.state_updates.items()},
                                                    dict(g.noise), trainable)
            return self._built[key]

    def training_io(self, shapes: Sequence[tuple[int, ...]], training: bool = False) -> TrainingIO:
        """How the graph for these shapes reads the weights, updates some itself and takes noise."""
        self.build(shapes, training)
        return self._training_io[(tuple(tuple(s) for s in shapes), training, self.frozen if training else frozenset())]

    def _graphs_changed(self, training_too: bool = True) -> None:
        """Weights or frozen layers changed: graphs built before (their weights baked in) are stale.
        Training graphs read every weight a step changes from its feeds: fit keeps them."""
        with self._lock:
            for key in [key for key in self._built if training_too or not key[1]]:
                del self._built[key]
                self._training_io.pop(key, None)
            paused, self.replays = self.replays.paused, Replays()   # recorded plans hold the old weights
            self.replays.paused = paused

    # -- running ----------------------------------------------------------------------------------
    def predict(self, x: Any) -> np.ndarray | dict[str, np.ndarray]:
        results = self.execute(x)
        if len(self.outputs) == 1:
            return results[0]
        return {info.name: value for info, value in zip(self.outputs, results)}

    def execute(self, inputs: Any, outputs: str | Sequence[str] | None = None) -> np.ndarray | list[np.ndarray]:
        tensors = self._inputs(inputs)
        executor, input_keys, output_keys = self.build([t.shape for t in tensors])
        indices = list(range(len(self.outputs))) if outputs is None else \
            [self._output_index(name) for name in ([outputs] if isinstance(outputs, str) else outputs)]
        fetches = [output_keys[index] for index in indices]
        feeds = dict(zip(input_keys, tensors))
        with self.backend.session(executor.workload(feeds, fetches)):
            results = self.replays.run(executor, feeds, fetches, self.backend)
        arrays = [caller_values(t) for t in results]
        return arrays[0] if isinstance(outputs, str) else arrays

    def _output_index(self, name: str) -> int:
        for index, info in enumerate(self.outputs):
            if name in (info.name, info.tensor):
                return index
        raise InputError(f"unknown output {name!r}; the model's outputs are: "
                         f"{', '.join(i.name for i in self.outputs)}")

    def _inputs(self, inputs: Any) -> list[Tensor]:
        if isinstance(inputs, Mapping):
            unknown = [k for k in inputs if k not in {i.name for i in self.inputs}]
            if unknown:
                raise InputError(f"unknown input(s) {', '.join(map(str, unknown))}; the model's inputs are: "
                                 f"{', '.join(i.name for i in self.inputs)}")
            absent = [i.name for i in self.inputs if i.name not in inputs]
            if absent:
                raise InputError(f"missing input(s): {', '.join(absent)}")
            values = [inputs[i.name] for i in self.inputs]
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) != len(self.inputs):
                raise InputError(f"the model takes {len(self.inputs)} inputs, got a list of {len(inputs)}")
            values = list(inputs)
        else:
            if len(self.inputs) != 1:
                raise InputError(f"the model takes {len(self.inputs)} inputs; pass a list or dict")
            values = [inputs]
        return [check_input(info.name, value, info) for info, value in zip(self.inputs, values)]

    def warmup(self, inputs: Any = None) -> None:
        """Compiles every program a call needs and uploads the weights it reads on the GPU, without running
        the model's math (engine/graph/warmup.py).
        `inputs`: None for the input layers' shapes (unknown dimensions 1), or a dict by input name /
        a list in input order of shapes or example arrays. Warms this thread's GL context."""
        tensors = self._inputs(example_values(self.inputs, inputs))
        executor, input_keys, output_keys = self.build([t.shape for t in tensors])
        backend = self.backend
        feeds = dict(zip(input_keys, tensors))
        executor.plan(list(feeds), output_keys)
        compile_ahead(backend, lambda on_gpu: executor.run(on_gpu, output_keys, backend), feeds)
        self.replays.warmed(executor, feeds, output_keys, backend)

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}{list(i.shape) if i.shape is not None else ''}:{i.dtype}" for i in self.inputs)
        outs = ", ".join(i.name for i in self.outputs)
        return f"LayersModel({self.spec.name!r}, inputs=[{ins}], outputs=[{outs}], backend={self.backend.name})"


def load_layers_model(location: str | os.PathLike, backend: str | None = None,
                      headers: Mapping[str, str] | None = None, progress: bool = False,
                      warmup: bool = False) -> LayersModel:
    """Loads a TF.js layers model from a model.json path (or its folder), file:// or http(s):// URL;
    `warmup` compiles its programs and uploads its weights for the input layers' shapes before returning
    (LayersModel.warmup)."""
    artifacts = load_model_json(location, headers)
    weights = read_weight_arrays(artifacts.weights_manifest, artifacts.base, artifacts.headers, progress=progress)
    model = LayersModel(artifacts, weights, backend)
    if warmup:
        model.warmup()
    return model


def load_model(location: str | os.PathLike, backend: str | None = None, headers: Mapping[str, str] | None = None,
               progress: bool = False, warmup: bool = False):
    """A GraphModel or LayersModel, whichever the model.json's format says; `warmup` as in load_graph_model."""
    artifacts = load_model_json(location, headers)
    weights = read_weight_arrays(artifacts.weights_manifest, artifacts.base, artifacts.headers, progress=progress)
    model = (LayersModel if artifacts.format == LAYERS_MODEL else GraphModel)(artifacts, weights, backend)
    if warmup:
        model.warmup()
    return model
