"""Layer builders, registered by Keras class name: each turns one call of a layer into graph ops."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.errors import ModelFormatError
from engine.layers.builder import GraphBuilder, Sym
from engine.layers.config import LayerSpec

Builder = Callable[["LayerContext", list[Sym], dict], "Sym | list[Sym]"]
_LAYERS: dict[str, Builder] = {}


def layer(*class_names: str) -> Callable[[Builder], Builder]:
    def decorate(fn: Builder) -> Builder:
        for name in class_names:
            _LAYERS[name] = fn
        return fn
    return decorate


def builder_for(class_name: str) -> Builder | None:
    return _LAYERS.get(class_name)


def known_layers() -> set[str]:
    return set(_LAYERS)


class WeightStore:
    """The model's weights by manifest name; layers find theirs by scope and final name."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self._consts: dict[str, Sym] = {}
        # manifest name -> the top-level layer whose builder read the weight (freezing is per layer)
        self.owners: dict[str, str] = {}

    def names_under(self, scope: str) -> list[str]:
        prefix = scope + "/"
        return [name for name in self.arrays if name.startswith(prefix)]

    def const(self, g: GraphBuilder, name: str) -> Sym:
        """One Const node per weight, shared by every call of the layer."""
        if name not in self._consts:
            self._consts[name] = g.const(self.arrays[name], name)
        return self._consts[name]

    def node_names(self) -> dict[str, str]:
        """Manifest name -> the Const node holding that weight, for the weights the graph uses."""
        return {name: sym.key[0] for name, sym in self._consts.items()}


class LayerContext:
    """What a layer builder sees: its config, the graph builder, its weights, the Keras version."""

    def __init__(self, g: GraphBuilder, spec: LayerSpec, weights: WeightStore, scopes: list[str], keras_version: str):
        self.g, self.spec, self.weights, self.scopes = g, spec, weights, scopes
        self.keras3 = keras_version.startswith("3")

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def training(self) -> bool:
        return self.g.training

    @property
    def top_level_layer(self) -> str:
        """The layer of the outermost model this call belongs to (itself, or a nested model / wrapper)."""
        return (self.scopes[1:] + [self.name])[0]

    @property
    def frozen(self) -> bool:
        """The layer (or the model / wrapper it is part of) was set trainable=False: Keras runs a
        frozen BatchNormalization in inference mode even in training."""
        return self.top_level_layer in self.g.frozen

    @property
    def config(self) -> dict:
        return self.spec.config

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def weight_names(self, sub_scope: str | None = None) -> list[str]:
        """Manifest names of this layer's weights, in manifest order. Nested models may or may not
        prefix their layers' weights with the model's name: the longest scope that matches wins."""
        for depth in range(len(self.scopes) + 1):
            scope = "/".join(self.scopes[depth:] + [self.name] + ([sub_scope] if sub_scope else []))
            names = self.weights.names_under(scope)
            if names:
                return names
        return []

    def weight(self, *finals: str, sub_scope: str | None = None, required: bool = True) -> Sym | None:
        """The layer's weight whose last name component is one of `finals` (kernel, bias, ...)."""
        name = self.weight_name(*finals, sub_scope=sub_scope, required=required)
        if name is None:
            return None
        self.weights.owners.setdefault(name, self.top_level_layer)
        return self.weights.const(self.g, name)

    def weight_name(self, *finals: str, sub_scope: str | None = None, required: bool = True) -> str | None:
        """The manifest name of that weight."""
        for name in self.weight_names(sub_scope):
            if name.rsplit("/", 1)[-1].split(":")[0] in finals:
                return name
        if required:
            raise ModelFormatError(f"layer {self.name!r} ({self.spec.class_name}): no weight named "
                                   f"{' or '.join(finals)} in the manifest")
        return None

    def op(self, op: str, inputs: list[Sym], attrs: dict | None = None) -> Sym:
        return self.g.op(op, inputs, attrs, name=f"{self.name}/{op}")
