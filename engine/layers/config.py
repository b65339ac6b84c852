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
    if not isinstance(config, dict):
        raise ModelFormatError(f"a model config must be an object, got {config!r:.100}")
    class_name = config.get("class_name")
    body = config.get("config")
    if class_name == "Sequential":
        return _check_model(_sequential(body))
    if class_name in ("Model", "Functional"):
        return _check_model(_functional(body))
    raise ModelFormatError(f"unknown model class {class_name!r:.100} (expected Sequential, Model or Functional)")


def _model_name(body: dict, default: str) -> str:
    name = body.get("name", default)
    if name is None:
        return default
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"model name must be a non-empty string, got {name!r:.100}")
    return name


def _sequential(body: Any) -> ModelSpec:
    layer_configs = body.get("layers", []) if isinstance(body, dict) else body
    if not isinstance(layer_configs, list):
        raise ModelFormatError("Sequential model config has no layer list")
    name = _model_name(body, "sequential") if isinstance(body, dict) else "sequential"
    layers: list[LayerSpec] = []
    first = layer_configs[0] if layer_configs else None
    if first is None:
        raise ModelFormatError("Sequential model has no layers")
    if not isinstance(first, dict) or not isinstance(first.get("config", {}), dict):
        raise ModelFormatError(f"Sequential model {name!r}: bad first layer {first!r:.200}")
    if first.get("class_name") != "InputLayer":
        shape = _input_shape(first.get("config") or {}, layer_configs)
        dtype = (first.get("config") or {}).get("dtype", "float32")
        layers.append(LayerSpec("InputLayer", f"{name}_input", {"batch_input_shape": shape, "dtype": dtype}))
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
            return _shape(config[key], f"first layer's {key}")
    if "input_shape" in config:
        return [None, *_shape(config["input_shape"], "first layer's input_shape")]
    build = all_layers[0].get("build_config", {}) if all_layers else {}
    if isinstance(build, dict) and "input_shape" in build:
        return _shape(build["input_shape"], "first layer's build_config.input_shape")
    raise ModelFormatError("Sequential model's first layer gives no input shape")


def _shape(value: Any, what: str) -> list:
    """A Keras shape: a list of non-negative ints and nulls (unknown)."""
    if not isinstance(value, (list, tuple)) or not all(
            d is None or isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_INT for d in value):
        raise ModelFormatError(f"{what} must be a list of non-negative integers or nulls, got {value!r:.100}")
    return list(value)


def _functional(body: dict) -> ModelSpec:
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ModelFormatError("Functional model config has no layer list")
    layers = [_layer(raw) for raw in body["layers"]]
    spec = ModelSpec("Functional", _model_name(body, "model"), layers, _refs(body.get("input_layers", [])),
                     _refs(body.get("output_layers", [])))
    return _renumber_nodes(spec)


def _check_model(spec: ModelSpec) -> ModelSpec:
    """Layer names are unique (they key the weights and every reference), and input layers' shapes
    are shapes."""
    seen: set[str] = set()
    for layer_spec in spec.layers:
        if layer_spec.name in seen:
            raise ModelFormatError(f"model {spec.name!r}: two layers are named {layer_spec.name!r}")
        seen.add(layer_spec.name)
        if layer_spec.class_name == "InputLayer":
            for key in ("batch_input_shape", "batch_shape"):
                if layer_spec.config.get(key) is not None:
                    _shape(layer_spec.config[key], f"input layer {layer_spec.name!r}: {key}")
    return spec


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
    if not isinstance(raw, list):
        raise ModelFormatError(f"bad input/output layer list {raw!r:.200}")
    refs = [_ref(r) for r in raw]
    if any(ref is None for ref in refs):
        raise ModelFormatError(f"bad input/output layer list {raw!r:.200}")
    return refs


def _ref(raw: Any) -> TensorRef | None:
    """[layer, node, tensor] (more entries, like Keras 2's kwargs, are the caller's) or None."""
    if not isinstance(raw, (list, tuple)) or len(raw) < 3 or not isinstance(raw[0], str) or not raw[0]:
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= MAX_INT for i in raw[1:3]):
        return None
    return TensorRef(raw[0], raw[1], raw[2])


def _layer(raw: Any) -> LayerSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("class_name"), str) or not raw["class_name"]:
        raise ModelFormatError(f"layer entry without class_name: {raw!r:.200}")
    config = raw.get("config", {}) or {}
    if not isinstance(config, dict):
        raise ModelFormatError(f"{raw['class_name']} layer: config must be an object, got {config!r:.100}")
    name = raw.get("name") or config.get("name")
    if not name:
        raise ModelFormatError(f"{raw['class_name']} layer without a name")
    if not isinstance(name, str):
        raise ModelFormatError(f"{raw['class_name']} layer: name must be a string, got {name!r:.100}")
    check_layer_config(raw["class_name"], name, config)
    spec = LayerSpec(raw["class_name"], name, config)
    inbound = raw.get("inbound_nodes", []) or []
    if not isinstance(inbound, list):
        raise ModelFormatError(f"layer {name!r}: inbound_nodes must be a list, got {inbound!r:.100}")
    for node in inbound:
        refs, kwargs = _inbound(node, name)
        if not refs:
            raise ModelFormatError(f"layer {name!r}: call {len(spec.calls)} has no input tensors "
                                   f"(inbound node {node!r:.200})")
        spec.calls.append(refs)
        spec.call_kwargs.append(kwargs)
    return spec


def _inbound(node: Any, layer: str) -> tuple[list[TensorRef], dict]:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}} with __keras_tensor__ entries
        args, raw_kwargs = node.get("args", []) or [], node.get("kwargs") or {}
        if not isinstance(args, list) or not isinstance(raw_kwargs, dict):
            raise ModelFormatError(f"layer {layer!r}: bad inbound node {node!r:.200} (args must be a list, "
                                   f"kwargs an object)")
        refs: list[TensorRef] = []
        for arg in args:
            refs.extend(_keras_tensors(arg, layer))
        kwargs = {}
        for key, value in raw_kwargs.items():
            tensors = _keras_tensors(value, layer)
            if tensors:  # e.g. an RNN's initial_state: more inputs, after the positional ones
                refs.extend(tensors)
            else:
                kwargs[key] = value
        return refs, kwargs
    if isinstance(node, list):  # Keras 2: [[layer, node, tensor, kwargs], ...]
        refs, kwargs = [], {}
        for entry in node:
            ref = _ref(entry)
            if ref is None:
                raise ModelFormatError(f"layer {layer!r}: bad inbound node {entry!r:.200}")
            refs.append(ref)
            if len(entry) > 3 and isinstance(entry[3], dict):
                kwargs.update(entry[3])
        return refs, kwargs
    raise ModelFormatError(f"layer {layer!r}: bad inbound node {node!r:.200}")


def _keras_tensors(value: Any, layer: str) -> list[TensorRef]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config")
        ref = _ref(config.get("keras_history")) if isinstance(config, dict) else None
        if ref is None:
            raise ModelFormatError(f"layer {layer!r}: bad __keras_tensor__ reference {value!r:.200}")
        return [ref]
    if isinstance(value, list):
        return [ref for item in value for ref in _keras_tensors(item, layer)]
    return []


# -- layer config values ------------------------------------------------------------------------
# The keys layer builders read, checked once at load time so that a bad value is a ModelFormatError
# naming layer and key (builders would otherwise fail in float()/int()/unpacking with raw errors).
MAX_INT = 2 ** 31 - 1


def _is_int(value: Any, lo: int = -MAX_INT, hi: int = MAX_INT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        not isinstance(value, int) or abs(value) <= 2 ** 128)


def _ints(value: Any, lo: int, nested: bool = False) -> bool:
    """An int, or a list of them (of ints or pairs of ints with `nested`), each >= lo."""
    if _is_int(value, lo):
        return True
    if not isinstance(value, list):
        return False
    return all(_is_int(v, lo) or nested and isinstance(v, list) and all(_is_int(w, lo) for w in v) for v in value)


def _activation(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return True
    if not isinstance(value, dict):
        return False
    config = value.get("config", {})
    return (value.get("class_name") is None or isinstance(value["class_name"], str)) and \
        (config is None or isinstance(config, dict) and (config.get("name") is None or isinstance(config["name"], str)))


def _layer_dict(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and \
        isinstance(value.get("config", {}) or {}, dict)


_RULES: dict[str, tuple] = {
    # key: (check, what it must be)
    "activation": (_activation, "an activation name or {class_name, config}"),
    "recurrent_activation": (_activation, "an activation name or {class_name, config}"),
    "units": (lambda v: _is_int(v, 1), "a positive integer"),
    "filters": (lambda v: _is_int(v, 1), "a positive integer"),
    "depth_multiplier": (lambda v: _is_int(v, 1), "a positive integer"),
    "groups": (lambda v: v is None or _is_int(v, 1), "a positive integer"),
    "n": (lambda v: _is_int(v, 1), "a positive integer"),
    "input_dim": (lambda v: _is_int(v, 1), "a positive integer"),
    "output_dim": (lambda v: _is_int(v, 1), "a positive integer"),
    "kernel_size": (lambda v: _ints(v, 1), "a positive integer or a list of them"),
    "strides": (lambda v: v is None or _ints(v, 1), "a positive integer or a list of them"),
    "dilation_rate": (lambda v: _ints(v, 1), "a positive integer or a list of them"),
    "pool_size": (lambda v: _ints(v, 1), "a positive integer or a list of them"),
    "size": (lambda v: _ints(v, 1), "a positive integer or a list of them"),
    "output_padding": (lambda v: v is None or _ints(v, 0), "null, or a non-negative integer or a list of them"),
    "cropping": (lambda v: _ints(v, 0, nested=True), "non-negative integers"),
    "axis": (lambda v: v is None or _ints(v, -MAX_INT), "an integer or a list of integers"),
    "axes": (lambda v: _ints(v, -MAX_INT), "an integer or a list of integers"),
    "target_shape": (lambda v: isinstance(v, list) and all(_is_int(d, -1) for d in v), "a list of integers"),
    "dims": (lambda v: isinstance(v, list) and all(_is_int(d, 1) for d in v), "a list of positive integers"),
    "epsilon": (_is_number, "a number"),
    "alpha": (lambda v: v is None or _is_number(v), "a number"),
    "theta": (_is_number, "a number"),
    "negative_slope": (lambda v: v is None or _is_number(v), "a number"),
    "threshold": (lambda v: v is None or _is_number(v), "a number"),
    "max_value": (lambda v: v is None or _is_number(v), "null or a number"),
    "offset": (_is_number, "a number"),
    "data_format": (lambda v: v is None or isinstance(v, str), "a string"),
    "interpolation": (lambda v: v is None or isinstance(v, str), "a string"),
    "merge_mode": (lambda v: v is None or isinstance(v, str), "null or a string"),
    "layer": (_layer_dict, "a {class_name, config} object"),
    "backward_layer": (lambda v: v is None or _layer_dict(v), "a {class_name, config} object"),
    "cell": (lambda v: _layer_dict(v) or isinstance(v, list) and all(_layer_dict(c) for c in v),
             "a {class_name, config} object or a list of them"),
}
for _flag in ("use_bias", "center", "return_sequences", "return_state", "go_backwards", "time_major", "reset_after",
              "keepdims", "normalize", "rms_scaling", "stateful", "unroll"):
    _RULES[_flag] = (lambda v: isinstance(v, bool) or v is None, "true or false")

_PADDING_LAYERS = ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
_NORMALIZATION_LAYERS = ("BatchNormalization", "LayerNormalization", "RMSNormalization", "GroupNormalization")


# Keys a layer cannot be built without.
_REQUIRED = {"SimpleRNN": ("units",), "LSTM": ("units",), "GRU": ("units",), "SimpleRNNCell": ("units",),
             "LSTMCell": ("units",), "GRUCell": ("units",), "Reshape": ("target_shape",), "Permute": ("dims",),
             "RepeatVector": ("n",)}


def check_layer_config(class_name: str, name: str, config: dict) -> None:
    """Raises ModelFormatError naming layer and key for a config value no builder can use."""
    for key in _REQUIRED.get(class_name, ()):
        if config.get(key) is None:
            raise ModelFormatError(f"layer {name!r} ({class_name}): config has no {key!r}")
    for key, value in config.items():
        rule = _rule(class_name, key)
        if rule is not None and not rule[0](value):
            raise ModelFormatError(f"layer {name!r} ({class_name}): {key} must be {rule[1]}, got {value!r:.100}")
    for key in ("layer", "backward_layer"):
        inner = config.get(key)
        if isinstance(inner, dict):
            inner_config = inner.get("config") or {}
            check_layer_config(inner["class_name"], f"{name}/{inner_config.get('name') or inner['class_name']}",
                               inner_config)
    cells = config.get("cell")
    for cell in cells if isinstance(cells, list) else [cells] if isinstance(cells, dict) else []:
        check_layer_config(cell["class_name"], f"{name}/cell", cell.get("config") or {})


def _rule(class_name: str, key: str) -> tuple | None:
    if key == "padding":
        if class_name in _PADDING_LAYERS:
            return (lambda v: _ints(v, 0, nested=True), "non-negative integers")
        return (lambda v: v is None or isinstance(v, str), "a string (valid, same or causal)")
    if key == "scale":
        if class_name in _NORMALIZATION_LAYERS:
            return (lambda v: isinstance(v, bool) or v is None, "true or false")
        if class_name == "Rescaling":
            return (_is_number, "a number")
        return None
    return _RULES.get(key)
