"""Weights keyed by Keras 3 store paths, renamed to the names layers loaders look up.

A Keras 3 `.keras` archive keys each weight by where Keras's saver found it while walking the
model: `layers/<layer key>/vars/<index>`, where the layer key is the snake-cased class name with a
counter per class in its model (`dense`, `dense_1`, ...; not the layer's name), the index counts the
layer's trainable variables and then its other ones in creation order, and wrapped layers, RNN cells
and nested models add steps (`layers/bidirectional/forward_layer/cell/vars/0`,
`layers/sequential/layers/dense/vars/1`). The official converter copies those keys into the
manifest of the layers models it writes from an archive; they name neither layer nor weight, so a
loader that finds weights by layer scope and weight name (TF.js, tfgl) finds none.

`rename_store_keys` replays that walk over the topology and renames each key to the weight's Keras
3 path (`hidden/kernel`, `lstm/lstm_cell/recurrent_kernel`), the name Keras 3's HDF5 writer gives it.
The variable order per class is Keras 3's (the `add_weight` calls of each layer's `build`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from engine.errors import ModelFormatError

T = TypeVar("T")

_STORE_KEY = re.compile(r"(layers/.+)/vars/(\d+)")
_MODELS = ("Functional", "Model", "Sequential")
_RNNS = {"SimpleRNN": "SimpleRNNCell", "LSTM": "LSTMCell", "GRU": "GRUCell"}
_KERNEL_AND_BIAS = {
    "Dense", "Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D", "Conv1DTranspose",
    "Conv2DTranspose", "Conv3DTranspose", "Convolution1DTranspose", "Convolution2DTranspose",
    "Convolution3DTranspose", "Deconvolution2D", "DepthwiseConv1D", "DepthwiseConv2D",
}
_SEPARABLE = {"SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D"}


def has_store_keys(names: Mapping[str, object]) -> bool:
    return any(_STORE_KEY.fullmatch(name) for name in names)


def rename_store_keys(model_config: dict, weights: Mapping[str, T]) -> dict[str, T]:
    """`weights` with every Keras 3 store key renamed to the weight's Keras 3 path (other names kept).
    `model_config`: the topology's {class_name, config}. ModelFormatError for a key the topology
    does not account for."""
    if not has_store_keys(weights):
        return dict(weights)
    slots: dict[str, tuple[str, list[str] | None, str]] = {}
    _walk_model(model_config, "layers", "", slots)
    renamed: dict[str, T] = {}
    for name, value in weights.items():
        match = _STORE_KEY.fullmatch(name)
        if match:
            name = _rename(name, match.group(1), int(match.group(2)), slots)
        if name in renamed:
            raise ModelFormatError(f"the manifest names weight {name!r} twice (once by its Keras 3 store key)")
        renamed[name] = value
    return renamed


def _rename(key: str, owner: str, index: int, slots: dict) -> str:
    if owner not in slots:
        raise ModelFormatError(f"weight {key!r} is keyed by a Keras 3 store path that no layer of the topology has")
    scope, finals, what = slots[owner]
    if finals is None:
        raise ModelFormatError(f"weight {key!r}: tfgl does not know the order of the Keras 3 variables of {what}")
    if index >= len(finals):
        raise ModelFormatError(f"weight {key!r}: {what} has {len(finals)} variables in Keras 3 "
                               f"({', '.join(finals) or 'none'}), not {index + 1}")
    return f"{scope}/{finals[index]}"


def _snake_case(class_name: str) -> str:
    """Keras's name for a class: 'Conv2DTranspose' -> 'conv2d_transpose', 'PReLU' -> 'p_re_lu'."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_entry(raw: object, where: str) -> tuple[str, dict, str]:
    """(class name, config, name) of a {class_name, config} entry."""
    if not isinstance(raw, dict) or not isinstance(raw.get("class_name"), str):
        raise ModelFormatError(f"{where}: a layer entry must be an object with a class_name, got {raw!r:.80}")
    config = raw.get("config") or {}
    if not isinstance(config, dict):
        raise ModelFormatError(f"{where}: layer config must be an object, got {config!r:.80}")
    name = config.get("name") or raw.get("name") or _snake_case(raw["class_name"])
    return raw["class_name"], config, str(name)


def _walk_model(raw: object, store: str, scope: str, slots: dict) -> None:
    """Each layer of a model, keyed as Keras 3's saver keys the entries of a model's layer list."""
    class_name, config, name = _layer_entry(raw, f"model {scope or 'topology'!r}")
    layers = config.get("layers") if class_name in _MODELS else None
    if not isinstance(layers, list):
        raise ModelFormatError(f"model {name!r} ({class_name}) has no layer list")
    seen: dict[str, int] = {}
    for entry in layers:
        layer_class, layer_config, layer_name = _layer_entry(entry, f"model {name!r}")
        base = _snake_case(layer_class)
        count = seen.get(base)
        seen[base] = 0 if count is None else count + 1
        key = base if count is None else f"{base}_{count + 1}"
        _walk_layer(layer_class, layer_config, layer_name, f"{store}/{key}", f"{scope}{layer_name}", slots)


def _walk_layer(class_name: str, config: dict, name: str, store: str, scope: str, slots: dict) -> None:
    if class_name in _MODELS:
        _walk_model({"class_name": class_name, "config": config}, f"{store}/layers", f"{scope}/", slots)
    elif class_name == "Bidirectional":
        forward_class, forward_config, forward_name = _layer_entry(config.get("layer"), f"layer {name!r}")
        if config.get("backward_layer"):
            backward_class, backward_config, backward_name = _layer_entry(config["backward_layer"], f"layer {name!r}")
        else:
            base = forward_name.removeprefix("forward_")
            backward_class, backward_config, backward_name = forward_class, forward_config, f"backward_{base}"
        _walk_layer(forward_class, forward_config, forward_name, f"{store}/forward_layer",
                    f"{scope}/{forward_name}", slots)
        _walk_layer(backward_class, backward_config, backward_name, f"{store}/backward_layer",
                    f"{scope}/{backward_name}", slots)
    elif class_name == "TimeDistributed":
        inner_class, inner_config, inner_name = _layer_entry(config.get("layer"), f"layer {name!r}")
        _walk_layer(inner_class, inner_config, inner_name, f"{store}/layer", f"{scope}/{inner_name}", slots)
    elif class_name in _RNNS or class_name == "RNN":
        cell = config.get("cell") if class_name == "RNN" else {"class_name": _RNNS[class_name], "config": config}
        cell_class, cell_config, _ = _layer_entry(cell, f"layer {name!r}")
        slots[f"{store}/cell"] = (f"{scope}/{_snake_case(cell_class)}", _variables(cell_class, cell_config),
                                  f"the cell of layer {name!r} ({cell_class})")
    else:
        slots[store] = (scope, _variables(class_name, config), f"layer {name!r} ({class_name})")


def _variables(class_name: str, config: dict) -> list[str] | None:
    """A layer's variables in Keras 3's store order (trainable ones, then the others; each in the
    order its `build` creates them); None for a class this table does not know."""
    bias = ["bias"] if config.get("use_bias", True) else []
    if class_name in _KERNEL_AND_BIAS:
        return ["kernel", *bias]
    if class_name in _SEPARABLE:
        return ["depthwise_kernel", "pointwise_kernel", *bias]
    if class_name in ("SimpleRNNCell", "LSTMCell", "GRUCell"):
        return ["kernel", "recurrent_kernel", *bias]
    if class_name in ("BatchNormalization", "SyncBatchNormalization"):
        trainable = ["gamma"] * bool(config.get("scale", True)) + ["beta"] * bool(config.get("center", True))
        renorm = ["moving_stddev", "renorm_mean", "renorm_stddev"] if config.get("renorm") else []
        return [*trainable, "moving_mean", "moving_variance", *renorm]
    if class_name == "LayerNormalization":
        rms = bool(config.get("rms_scaling", False))
        return ["gamma"] * bool(config.get("scale", True) or rms) + ["beta"] * bool(config.get("center", True)
                                                                                     and not rms)
    return {"RMSNormalization": ["scale"], "Embedding": ["embeddings"], "PReLU": ["alpha"]}.get(class_name)
