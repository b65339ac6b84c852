"""Convolution layers: Conv1D/2D/3D (grouped too), Conv1DTranspose/Conv2DTranspose,
DepthwiseConv1D/2D and SeparableConv1D/2D, for Keras 2 (tf_keras, TF.js) and Keras 3 configs.

1-D layers run as their 2-D op over a height of 1 (ExpandDims, the 2-D op, Squeeze: reshapes are
free), with the kernel stored once more as (1, *kernel shape); 'causal' padding is the 2-D op's
EXPLICIT padding on the left of the width. Channels-first data runs in place with NCHW / NCDHW
data formats. A 2-D convolution with a bias becomes one _FusedConv2D / FusedDepthwiseConv2dNative
that also applies the layer's activation when the fused epilogue has it (relu, relu6, elu, sigmoid,
tanh, leaky_relu); otherwise BiasAdd then the activation's ops.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.errors import ModelFormatError
from engine.layers import activations
from engine.layers.builder import GraphBuilder, Sym
from engine.layers.registry import LayerContext, layer

# Keras activation -> the fused epilogue's name for it (leaky_relu the activation: slope 0.2).
FUSABLE_ACTIVATIONS = {"relu": "Relu", "relu6": "Relu6", "elu": "Elu", "sigmoid": "Sigmoid", "tanh": "Tanh",
                       "leaky_relu": "LeakyRelu"}

_DERIVED: weakref.WeakKeyDictionary[GraphBuilder, dict] = weakref.WeakKeyDictionary()


# -- config helpers (shared with pooling.py and reshaping.py) -------------------------------------------
def single_input(ctx: LayerContext, inputs: list[Sym]) -> Sym:
    if len(inputs) != 1:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}) takes one input, got {len(inputs)}")
    return inputs[0]


def int_tuple(ctx: LayerContext, key: str, n: int, default: Any = None) -> tuple[int, ...]:
    """Config value `key` as n ints: an int (or [int]) is repeated, a list must have n entries."""
    value = ctx.get(key, default)
    if value is None:
        value = default
    if isinstance(value, (int, float)):
        return (int(value),) * n
    try:
        values = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ModelFormatError(f"layer {ctx.name!r}: bad {key} {value!r}") from None
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ModelFormatError(f"layer {ctx.name!r}: {key} {value!r} should have {n} entries")
    return values


def is_channels_first(ctx: LayerContext) -> bool:
    data_format = ctx.get("data_format") or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ModelFormatError(f"layer {ctx.name!r}: unknown data_format {data_format!r}")
    return data_format == "channels_first"


def check_rank(ctx: LayerContext, x: Sym, rank: int) -> None:
    if x.rank != rank:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}) expects a rank-{rank} input, "
                               f"got shape {list(x.shape)}")


def data_format(spatial: int, channels_first: bool) -> str:
    return {2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}[spatial][channels_first]


def window_attr(values: Sequence[int], channels_first: bool) -> list[int]:
    """A per-dimension op attr (strides, dilations, ksize): 1 for batch and channels."""
    return [1, 1, *values] if channels_first else [1, *values, 1]


def spatial_axes(rank: int, channels_first: bool) -> list[int]:
    return list(range(2, rank)) if channels_first else list(range(1, rank - 1))


def channel_axis(rank: int, channels_first: bool) -> int:
    return 1 if channels_first else rank - 1


def expand_1d(ctx: LayerContext, x: Sym, channels_first: bool) -> Sym:
    """(N, W, C) -> (N, 1, W, C); (N, C, W) -> (N, C, 1, W): a 1-D input as a 2-D one of height 1."""
    return ctx.op("ExpandDims", [x, ctx.g.ints(2 if channels_first else 1, "axis")])


def squeeze_1d(ctx: LayerContext, y: Sym, channels_first: bool) -> Sym:
    return ctx.op("Squeeze", [y], {"squeeze_dims": [2 if channels_first else 1]})


def derived_const(ctx: LayerContext, weight: Sym, tag: str, make: Callable[[np.ndarray], np.ndarray]) -> Sym:
    """A constant computed from a weight's value (a reshape, a slice), made once per graph and
    shared by every call of the layer."""
    cache = _DERIVED.setdefault(ctx.g, {})
    key = (weight.key, tag)
    if key not in cache:
        cache[key] = ctx.g.const(np.ascontiguousarray(make(weight.probe)), f"{weight.key[0]}/{tag}")
    return cache[key]


# -- emitting convolutions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Geometry:
    """One convolution op's window: its spatial rank (2 or 3), strides, dilations and padding
    ('valid'/'same', or explicit (before, after) pairs per spatial axis)."""

    spatial: int
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    padding: str
    channels_first: bool
    explicit: tuple[tuple[int, int], ...] | None = None

    def attrs(self) -> dict:
        attrs = {"strides": window_attr(self.strides, self.channels_first),
                 "dilations": window_attr(self.dilations, self.channels_first),
                 "data_format": data_format(self.spatial, self.channels_first),
                 "padding": "EXPLICIT" if self.explicit else self.padding.upper()}
        if self.explicit:
            pairs = [(0, 0), (0, 0), *self.explicit] if self.channels_first else [(0, 0), *self.explicit, (0, 0)]
            attrs["explicit_paddings"] = [int(p) for pair in pairs for p in pair]
        return attrs


def geometry(ctx: LayerContext, spatial: int, kernel_window: Sequence[int], channels_first: bool) -> Geometry:
    """The layer's strides, dilation_rate and padding; a 1-D layer's (spatial == 1) become those of
    a 2-D op over a height of 1, 'causal' padding its explicit left padding."""
    strides = int_tuple(ctx, "strides", spatial, 1)
    dilations = int_tuple(ctx, "dilation_rate", spatial, 1)
    padding = str(ctx.get("padding", "valid") or "valid").lower()
    if padding not in ("valid", "same", "causal") or (padding == "causal" and spatial != 1):
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): unsupported padding {padding!r}")
    if spatial != 1:
        return Geometry(spatial, strides, dilations, padding, channels_first)
    explicit = None
    if padding == "causal":
        explicit = ((0, 0), (dilations[0] * (int(kernel_window[0]) - 1), 0))
    return Geometry(2, (1, *strides), (1, *dilations), padding, channels_first, explicit)


def conv_op(ctx: LayerContext, x: Sym, kernel: Sym, geo: Geometry, bias: Sym | None, activation: Any,
            depthwise: bool = False) -> tuple[Sym, bool]:
    """The convolution with its bias (fused where the op allows) and, when fusable, its activation:
    returns the result and whether the activation was applied."""
    attrs = geo.attrs()
    if geo.spatial == 3:
        y = ctx.op("Conv3D", [x, kernel], attrs)
        return (y if bias is None else ctx.op("BiasAdd", [y, bias], {"data_format": _bias_format(geo)})), False
    if bias is None:
        return ctx.op("DepthwiseConv2dNative" if depthwise else "Conv2D", [x, kernel], attrs), False
    fused = FUSABLE_ACTIVATIONS.get(activations.activation_name(activation))
    attrs.update(fused_ops=["BiasAdd"] + ([fused] if fused else []), num_args=1, leakyrelu_alpha=0.2)
    op = "FusedDepthwiseConv2dNative" if depthwise else "_FusedConv2D"
    return ctx.op(op, [x, kernel, bias], attrs), fused is not None


def _bias_format(geo: Geometry) -> str:
    return "NCHW" if geo.channels_first else "NHWC"  # BiasAdd's NCHW adds along axis 1 at any rank


def grouped_conv(ctx: LayerContext, x: Sym, kernel: Sym, geo: Geometry, groups: int, bias: Sym | None,
                 activation: Any) -> tuple[Sym, bool]:
    """Keras's grouped convolution: input channels and filters split into `groups` blocks, block g
    of the filters convolving block g of the channels alone (Split, one convolution each, ConcatV2)."""
    if groups == 1:
        return conv_op(ctx, x, kernel, geo, bias, activation)
    axis = channel_axis(x.rank, geo.channels_first)
    filters = kernel.shape[-1]
    if x.shape[axis] % groups or filters % groups or kernel.shape[-2] * groups != x.shape[axis]:
        raise ModelFormatError(f"layer {ctx.name!r}: {groups} groups do not fit {x.shape[axis]} input channels "
                               f"and a kernel of shape {list(kernel.shape)}")
    per = filters // groups
    parts = ctx.g.op_outputs("Split", [ctx.g.ints(axis, "axis"), x], {"num_split": groups},
                             name=f"{ctx.name}/Split")
    outs, applied = [], False
    for index, part in enumerate(parts):
        block = slice(index * per, (index + 1) * per)
        if ctx.training:  # the blocks as ops on the weights, so gradients reach them
            k, b = _last_axis_block(ctx, kernel, block), None if bias is None else _last_axis_block(ctx, bias, block)
        else:
            k = derived_const(ctx, kernel, f"group{index}", lambda w, b=block: w[..., b])
            b = None if bias is None else derived_const(ctx, bias, f"group{index}", lambda w, b=block: w[b])
        y, applied = conv_op(ctx, part, k, geo, b, activation)
        outs.append(y)
    return ctx.op("ConcatV2", [*outs, ctx.g.ints(axis, "axis")], {"N": groups}), applied


def _last_axis_block(ctx: LayerContext, weight: Sym, block: slice) -> Sym:
    begin = [0] * (weight.rank - 1) + [block.start]
    size = [-1] * (weight.rank - 1) + [block.stop - block.start]
    return ctx.op("Slice", [weight, ctx.g.ints(begin, "begin"), ctx.g.ints(size, "size")])


def finish(ctx: LayerContext, y: Sym, activation_applied: bool) -> Sym:
    return y if activation_applied else activations.apply(ctx, y, ctx.get("activation"))


def optional_bias(ctx: LayerContext) -> Sym | None:
    return ctx.weight("bias") if ctx.get("use_bias", True) else None


def as_1d_kernel(ctx: LayerContext, kernel: Sym) -> Sym:
    """A 1-D kernel (K, ...) as the 2-D op's (1, K, ...); an op on the weight when training."""
    if ctx.training:
        return ctx.op("ExpandDims", [kernel, ctx.g.ints(0, "axis")])
    return derived_const(ctx, kernel, "as_2d", lambda w: w[None])


# -- layers ---------------------------------------------------------------------------------------------
_CONV_RANKS = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3, "Convolution1D": 1, "Convolution2D": 2, "Convolution3D": 3}


@layer(*_CONV_RANKS)
def conv(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    spatial = _CONV_RANKS[ctx.spec.class_name]
    x, channels_first = single_input(ctx, inputs), is_channels_first(ctx)
    check_rank(ctx, x, spatial + 2)
    kernel = ctx.weight("kernel")
    geo = geometry(ctx, spatial, kernel.shape[:-2], channels_first)
    groups = int(ctx.get("groups", 1) or 1)
    if spatial == 1:
        x, kernel = expand_1d(ctx, x, channels_first), as_1d_kernel(ctx, kernel)
    y, applied = grouped_conv(ctx, x, kernel, geo, groups, optional_bias(ctx), ctx.get("activation"))
    if spatial == 1:
        y = squeeze_1d(ctx, y, channels_first)
    return finish(ctx, y, applied)


@layer("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise_conv(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Keras 3 names the kernel 'kernel', Keras 2 and TF.js 'depthwise_kernel': (*k, C, multiplier)."""
    spatial = 1 if ctx.spec.class_name == "DepthwiseConv1D" else 2
    x, channels_first = single_input(ctx, inputs), is_channels_first(ctx)
    check_rank(ctx, x, spatial + 2)
    kernel = ctx.weight("depthwise_kernel", "kernel")
    geo = geometry(ctx, spatial, kernel.shape[:-2], channels_first)
    if spatial == 1:
        x, kernel = expand_1d(ctx, x, channels_first), as_1d_kernel(ctx, kernel)
    y, applied = conv_op(ctx, x, kernel, geo, optional_bias(ctx), ctx.get("activation"), depthwise=True)
    if spatial == 1:
        y = squeeze_1d(ctx, y, channels_first)
    return finish(ctx, y, applied)


@layer("SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D")
def separable_conv(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Depthwise (strides, dilation, padding) then a 1x1 pointwise convolution with the bias."""
    spatial = 1 if ctx.spec.class_name.endswith("1D") else 2
    x, channels_first = single_input(ctx, inputs), is_channels_first(ctx)
    check_rank(ctx, x, spatial + 2)
    depthwise = ctx.weight("depthwise_kernel")
    pointwise = ctx.weight("pointwise_kernel")
    geo = geometry(ctx, spatial, depthwise.shape[:-2], channels_first)
    if spatial == 1:
        x = expand_1d(ctx, x, channels_first)
        depthwise, pointwise = as_1d_kernel(ctx, depthwise), as_1d_kernel(ctx, pointwise)
    y, _ = conv_op(ctx, x, depthwise, geo, None, None, depthwise=True)
    unit = Geometry(2, (1, 1), (1, 1), "valid", channels_first)
    y, applied = conv_op(ctx, y, pointwise, unit, optional_bias(ctx), ctx.get("activation"))
    if spatial == 1:
        y = squeeze_1d(ctx, y, channels_first)
    return finish(ctx, y, applied)


def transposed_length(size: int, kernel: int, stride: int, dilation: int, padding: str,
                      output_padding: int | None) -> int:
    """Keras's output length of a transposed convolution (tf_keras deconv_output_length; Keras 3
    compute_conv_transpose_output_shape gives the same)."""
    kernel = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + max(kernel - stride, 0) if padding == "valid" else size * stride
    pad = 0 if padding == "valid" else kernel // 2
    return (size - 1) * stride + kernel - 2 * pad + output_padding


@layer("Conv1DTranspose", "Conv2DTranspose", "Convolution1DTranspose", "Convolution2DTranspose", "Deconvolution2D")
def conv_transpose(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Conv2DBackpropInput, input_sizes being the output shape Keras computes from the traced input
    shape; the kernel is (*k, filters, input channels), which is the op's filter as it is."""
    spatial = 1 if "1D" in ctx.spec.class_name else 2
    x, channels_first = single_input(ctx, inputs), is_channels_first(ctx)
    check_rank(ctx, x, spatial + 2)
    kernel = ctx.weight("kernel")
    window, filters = kernel.shape[:-2], kernel.shape[-2]
    strides = int_tuple(ctx, "strides", spatial, 1)
    dilations = int_tuple(ctx, "dilation_rate", spatial, 1)
    padding = str(ctx.get("padding", "valid") or "valid").lower()
    if padding not in ("valid", "same"):
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): unsupported padding {padding!r}")
    output_padding = ctx.get("output_padding")
    output_padding = (None,) * spatial if output_padding is None else int_tuple(ctx, "output_padding", spatial)
    sizes = [x.shape[a] for a in spatial_axes(x.rank, channels_first)]
    out = [transposed_length(*args, padding, p) for *args, p in zip(sizes, window, strides, dilations, output_padding)]
    if spatial == 1:
        x, kernel = expand_1d(ctx, x, channels_first), as_1d_kernel(ctx, kernel)
        out, strides, dilations = [1, *out], (1, *strides), (1, *dilations)
    input_sizes = [x.shape[0], filters, *out] if channels_first else [x.shape[0], *out, filters]
    geo = Geometry(2, strides, dilations, padding, channels_first)
    y = ctx.op("Conv2DBackpropInput", [ctx.g.ints(input_sizes, "input_sizes"), kernel, x], geo.attrs())
    bias = optional_bias(ctx)
    if bias is not None:
        y = ctx.op("BiasAdd", [y, bias], {"data_format": _bias_format(geo)})
    if spatial == 1:
        y = squeeze_1d(ctx, y, channels_first)
    return finish(ctx, y, False)
