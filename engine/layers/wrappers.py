"""Wrapper layers: Bidirectional and TimeDistributed. The wrapped layer is built by its own class's
builder, with its weights found under the wrapper's scope:

- TimeDistributed: Keras 3 writes `td/dense/kernel`, tf_keras `td/kernel` (both are handled).
- Bidirectional: `bi/forward_lstm/lstm_cell/kernel` and `bi/backward_lstm/...` everywhere; the
  forward config is named `lstm` in Keras 2 and TF.js, `forward_lstm` in Keras 3, and only Keras 3
  (or a custom backward layer) writes the backward layer's config; otherwise it is the forward
  config with go_backwards flipped.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.config import LayerSpec
from engine.layers.core import single
from engine.layers.registry import LayerContext, builder_for, layer


def inner_spec(ctx: LayerContext, raw) -> LayerSpec:
    """The wrapped layer's {class_name, config} as a LayerSpec."""
    if not isinstance(raw, dict) or "class_name" not in raw:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): no wrapped layer config")
    config = dict(raw.get("config") or {})
    return LayerSpec(raw["class_name"], str(config.get("name") or raw.get("name") or raw["class_name"].lower()), config)


def _sub_scopes(ctx: LayerContext) -> list[str]:
    """The first name component under the wrapper's scope of each of its weights."""
    found = []
    for name in ctx.weight_names():
        parts = name.split("/")
        index = len(parts) - 1 - parts[::-1].index(ctx.name) if ctx.name in parts else -1
        if 0 <= index < len(parts) - 2 and parts[index + 1] not in found:
            found.append(parts[index + 1])
    return found


def inner_context(ctx: LayerContext, spec: LayerSpec, candidates: list[str], prefix: str | None = None,
                  flat: bool = False) -> LayerContext:
    """A context for the wrapped layer whose weights are those under `wrapper/<sub scope>`: the first
    candidate sub-scope holding weights, else the one starting with `prefix`; with `flat`, weights
    right under the wrapper's scope (tf_keras's TimeDistributed) are the wrapped layer's."""
    version = "3" if ctx.keras3 else "2"
    scopes = ctx.scopes + [ctx.name]
    for sub in candidates:
        if sub and ctx.weight_names(sub):
            return LayerContext(ctx.g, replace(spec, name=sub), ctx.weights, scopes, version)
    if prefix:
        for sub in _sub_scopes(ctx):
            if sub.startswith(prefix):
                return LayerContext(ctx.g, replace(spec, name=sub), ctx.weights, scopes, version)
    if ctx.weight_names() and not flat:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): no weights of the wrapped layer "
                               f"{spec.name!r} under its scope (tried {', '.join(filter(None, candidates))})")
    # Weights right under the wrapper, or none at all: the wrapper's own scope (never a bare
    # `<inner name>/` scope, which could be another layer's).
    return LayerContext(ctx.g, replace(spec, name=ctx.name), ctx.weights, ctx.scopes, version)


def call_inner(ctx: LayerContext, inner: LayerContext, inputs: list[Sym]) -> list[Sym]:
    builder = builder_for(inner.spec.class_name)
    if builder is None:
        raise ModelFormatError(f"unknown layer class {inner.spec.class_name!r} (wrapped by layer {ctx.name!r})")
    result = builder(inner, inputs, {})
    return list(result) if isinstance(result, (list, tuple)) else [result]


@layer("TimeDistributed")
def time_distributed(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """The wrapped layer on every time step: time folded into the batch, then unfolded."""
    x = single(inputs, ctx)
    if x.rank < 3:
        raise ModelFormatError(f"layer {ctx.name!r} (TimeDistributed) takes inputs of rank >= 3, got {x.shape}")
    spec = inner_spec(ctx, ctx.get("layer"))
    inner = inner_context(ctx, spec, [spec.name], flat=True)
    batch, steps = x.shape[:2]
    folded = ctx.op("Reshape", [x, ctx.g.ints([batch * steps, *x.shape[2:]])])
    outputs = call_inner(ctx, inner, [folded])
    if len(outputs) != 1:
        raise ModelFormatError(f"layer {ctx.name!r} (TimeDistributed): the wrapped layer has {len(outputs)} outputs")
    y = outputs[0]
    return ctx.op("Reshape", [y, ctx.g.ints([batch, steps, *y.shape[1:]])])


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


@layer("Bidirectional")
def bidirectional(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> list[Sym]:
    """Forward and backward RNNs over the sequence; the backward one's sequence output is reversed
    back in time, then merged (concat, sum, mul, ave) or both returned (merge_mode None); with
    return_state, the forward states then the backward ones follow."""
    if not inputs:
        raise ModelFormatError(f"layer {ctx.name!r} (Bidirectional) has no input")
    forward_spec = inner_spec(ctx, ctx.get("layer"))
    base = _strip(forward_spec.name, "forward_")
    if ctx.get("backward_layer"):
        backward_spec = inner_spec(ctx, ctx.get("backward_layer"))
    else:
        config = dict(forward_spec.config)
        config["go_backwards"] = not config.get("go_backwards", False)
        backward_spec = LayerSpec(forward_spec.class_name, f"backward_{base}", config)
    forward = inner_context(ctx, forward_spec, [forward_spec.name, f"forward_{base}"], "forward_")
    backward = inner_context(ctx, backward_spec, [backward_spec.name, f"backward_{base}"], "backward_")

    x, states = inputs[0], list(inputs[1:])
    if len(states) % 2:
        raise ModelFormatError(f"layer {ctx.name!r} (Bidirectional): {len(states)} initial states, "
                               f"expected as many for the backward layer as for the forward one")
    half = len(states) // 2
    forward_out = call_inner(ctx, forward, [x, *states[:half]])
    backward_out = call_inner(ctx, backward, [x, *states[half:]])
    y, y_reversed = forward_out[0], backward_out[0]
    if forward_spec.config.get("return_sequences", False):
        time_axis = 0 if forward_spec.config.get("time_major", False) else 1
        y_reversed = ctx.op("ReverseV2", [y_reversed, ctx.g.ints([time_axis], "axis")])
    mode = ctx.get("merge_mode", "concat")
    if mode is None:
        merged = [y, y_reversed]
    elif mode == "concat":
        merged = [ctx.op("ConcatV2", [y, y_reversed, ctx.g.ints(-1, "axis")], {"N": 2})]
    elif mode == "sum":
        merged = [ctx.op("AddV2", [y, y_reversed])]
    elif mode == "mul":
        merged = [ctx.op("Mul", [y, y_reversed])]
    elif mode == "ave":
        merged = [ctx.op("Mul", [ctx.op("AddV2", [y, y_reversed]), ctx.g.const(np.float32(0.5), "half")])]
    else:
        raise ModelFormatError(f"layer {ctx.name!r} (Bidirectional): unknown merge_mode {mode!r}")
    return merged + forward_out[1:] + backward_out[1:]
