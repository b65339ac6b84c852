"""Reading a layers-model topology (Keras 2 configs as TF.js writes them, and Keras 3 configs as
the official converter writes them from Keras 3) into a uniform list of layer calls."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import ModelFormatError


@dataclass(frozen=True)
class TensorRef:
    """Output `tensor` of call `node` of layer `layer` (Keras's inbound-node triple)."""

    layer: str
    node: int = 0
    tensor: int = 0


@dataclass
class LayerSpec:
    class_name: str
    name: str
    config: dict
    calls: list[list[TensorRef]] = field(default_factory=list)  # inbound tensors per call
    call_kwargs: list[dict] = field(default_factory=list)


@dataclass
class ModelSpec:
    """A Functional/Model or Sequential model: its layers in order, inputs and outputs."""

    class_name: str
    name: str
    layers: list[LayerSpec]
    inputs: list[TensorRef]
    outputs: list[TensorRef]


def model_config(topology: dict) -> dict:
    """The {class_name, config} dict of the model, whether wrapped in model_config or not."""
    config = topology.get("model_config", topology)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelFormatError("layers model topology has no class_name / model_config")
    return config


def parse_model(config: dict) -> ModelSpec:
    class_name = config.get("class_name")
    body = config.get("config")
    if class_name == "Sequential":
        return _sequential(body)
    if class_name in ("Model", "Functional"):
        return _functional(body)
    raise ModelFormatError(f"unknown model class {class_name!r} (expected Sequential, Model or Functional)")


def _sequential(body: Any) -> ModelSpec:
    layer_configs = body.get("layers", []) if isinstance(body, dict) else body
    if not isinstance(layer_configs, list):
        raise ModelFormatError("Sequential model config has no layer list")
    name = body.get("name", "sequential") if isinstance(body, dict) else "sequential"
    layers: list[LayerSpec] = []
    first = layer_configs[0] if layer_configs else None
    if first is None:
        raise ModelFormatError("Sequential model has no layers")
    if first.get("class_name") != "InputLayer":
        shape = _input_shape(first.get("config", {}), layer_configs)
        layers.append(LayerSpec("InputLayer", f"{name}_input", {"batch_input_shape": shape,
                                                                  "dtype": first.get("config", {}).get("dtype", "float32")}))
    for raw in layer_configs:
        spec = _layer(raw)
        if layers:
            spec.calls = [[TensorRef(layers[-1].name)]]
            spec.call_kwargs = [{}]
        layers.append(spec)
    return ModelSpec("Sequential", name, layers, [TensorRef(layers[0].name)], [TensorRef(layers[-1].name)])


def _input_shape(config: dict, all_layers: list) -> list:
    for key in ("batch_input_shape", "batch_shape"):
        if key in config:
            return list(config[key])
    if "input_shape" in config:
        return [None, *config["input_shape"]]
    build = all_layers[0].get("build_config", {}) if all_layers else {}
    if "input_shape" in build:
        return list(build["input_shape"])
    raise ModelFormatError("Sequential model's first layer gives no input shape")


def _functional(body: dict) -> ModelSpec:
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ModelFormatError("Functional model config has no layer list")
    layers = [_layer(raw) for raw in body["layers"]]
    spec = ModelSpec("Functional", body.get("name", "model"), layers, _refs(body.get("input_layers", [])),
                     _refs(body.get("output_layers", [])))
    return _renumber_nodes(spec)


def _renumber_nodes(spec: ModelSpec) -> ModelSpec:
    """References name a layer's call by its index among *all* the layer's nodes, and a nested
    model's node 0 is its own construction (tf_keras writes its first call here as node 1). Map the
    node indices referenced in this model, in order, onto the calls listed here."""
    referenced: dict[str, set[int]] = {}
    for ref in [r for layer in spec.layers for call in layer.calls for r in call] + spec.outputs:
        referenced.setdefault(ref.layer, set()).add(ref.node)
    mapping = {layer: {node: position for position, node in enumerate(sorted(nodes))}
               for layer, nodes in referenced.items()}

    def renumber(ref: TensorRef) -> TensorRef:
        return TensorRef(ref.layer, mapping.get(ref.layer, {}).get(ref.node, ref.node), ref.tensor)

    for layer in spec.layers:
        layer.calls = [[renumber(r) for r in call] for call in layer.calls]
    spec.outputs = [renumber(r) for r in spec.outputs]
    return spec


def _refs(raw: Any) -> list[TensorRef]:
    """[["a", 0, 0], ...] or a single ["a", 0, 0] (Keras 3 writes single outputs unwrapped)."""
    if isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], str):
        raw = [raw]
    try:
        return [TensorRef(str(r[0]), int(r[1]), int(r[2])) for r in raw]
    except (TypeError, ValueError, IndexError):
        raise ModelFormatError(f"bad input/output layer list {raw!r:.200}") from None


def _layer(raw: Any) -> LayerSpec:
    if not isinstance(raw, dict) or "class_name" not in raw:
        raise ModelFormatError(f"layer entry without class_name: {raw!r:.200}")
    config = raw.get("config", {}) or {}
    name = raw.get("name") or config.get("name")
    if not name:
        raise ModelFormatError(f"{raw['class_name']} layer without a name")
    spec = LayerSpec(raw["class_name"], name, config)
    for node in raw.get("inbound_nodes", []) or []:
        refs, kwargs = _inbound(node, name)
        spec.calls.append(refs)
        spec.call_kwargs.append(kwargs)
    return spec


def _inbound(node: Any, layer: str) -> tuple[list[TensorRef], dict]:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}} with __keras_tensor__ entries
        refs: list[TensorRef] = []
        for arg in node.get("args", []):
            refs.extend(_keras_tensors(arg))
        kwargs = {}
        for key, value in (node.get("kwargs") or {}).items():
            tensors = _keras_tensors(value)
            if tensors:  # e.g. an RNN's initial_state: more inputs, after the positional ones
                refs.extend(tensors)
            else:
                kwargs[key] = value
        return refs, kwargs
    if isinstance(node, list):  # Keras 2: [[layer, node, tensor, kwargs], ...]
        refs, kwargs = [], {}
        for entry in node:
            if not isinstance(entry, list) or len(entry) < 3:
                raise ModelFormatError(f"layer {layer!r}: bad inbound node {entry!r:.200}")
            refs.append(TensorRef(str(entry[0]), int(entry[1]), int(entry[2])))
            if len(entry) > 3 and isinstance(entry[3], dict):
                kwargs.update(entry[3])
        return refs, kwargs
    raise ModelFormatError(f"layer {layer!r}: bad inbound node {node!r:.200}")


def _keras_tensors(value: Any) -> list[TensorRef]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history")
        return [TensorRef(str(history[0]), int(history[1]), int(history[2]))]
    if isinstance(value, list):
        return [ref for item in value for ref in _keras_tensors(item)]
    return []
