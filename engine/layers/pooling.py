"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D, for Keras 2
and Keras 3 configs, channels last or first.

1-D pools run as the 2-D op over a height of 1 (ExpandDims, MaxPool/AvgPool, Squeeze); 'same'
average pooling does not count the padding, as TensorFlow's AvgPool (which both Keras versions call).
"""
from __future__ import annotations

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.convolutional import (check_rank, data_format, expand_1d, int_tuple, is_channels_first,
                                         single_input, spatial_axes, squeeze_1d, window_attr)
from engine.layers.registry import LayerContext, layer

_POOLS = {f"{kind}{name}{n}D": (kind, n)
          for kind, names in (("Max", ("Pooling", "Pool")), ("Average", ("Pooling",)), ("Avg", ("Pool",)))
          for name in names for n in (1, 2, 3)}
_GLOBAL_POOLS = {f"Global{kind}{name}{n}D": (kind, n)
                 for kind, names in (("Max", ("Pooling", "Pool")), ("Average", ("Pooling",)), ("Avg", ("Pool",)))
                 for name in names for n in (1, 2, 3)}


@layer(*_POOLS)
def pool(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """pool_size, strides (None: the pool size, as both Keras versions), padding 'valid'/'same'."""
    kind, spatial = _POOLS[ctx.spec.class_name]
    x, channels_first = single_input(ctx, inputs), is_channels_first(ctx)
    check_rank(ctx, x, spatial + 2)
    size = int_tuple(ctx, "pool_size", spatial, 2)
    strides = size if ctx.get("strides") is None else int_tuple(ctx, "strides", spatial)
    padding = str(ctx.get("padding", "valid") or "valid").upper()
    if padding not in ("VALID", "SAME"):
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): unsupported padding {padding.lower()!r}")
    if spatial == 1:
        x, size, strides = expand_1d(ctx, x, channels_first), (1, *size), (1, *strides)
    op = ("MaxPool" if kind == "Max" else "AvgPool") + ("3D" if spatial == 3 else "")
    y = ctx.op(op, [x], {"ksize": window_attr(size, channels_first), "strides": window_attr(strides, channels_first),
                         "padding": padding, "data_format": data_format(max(spatial, 2), channels_first)})
    return squeeze_1d(ctx, y, channels_first) if spatial == 1 else y


@layer(*_GLOBAL_POOLS)
def global_pool(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Mean or Max over the spatial axes; keepdims (Keras 3, and tf_keras since 2.6) keeps them as 1s."""
    kind, spatial = _GLOBAL_POOLS[ctx.spec.class_name]
    x = single_input(ctx, inputs)
    check_rank(ctx, x, spatial + 2)
    axes = spatial_axes(x.rank, is_channels_first(ctx))
    return ctx.op("Max" if kind == "Max" else "Mean", [x, ctx.g.ints(axes, "axes")],
                  {"keep_dims": bool(ctx.get("keepdims", False))})
