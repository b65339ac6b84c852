"""Convolution and pooling ops (op_list/convolution.json) in numpy, as TensorFlow computes them.

Everything runs channels-last; NCHW-style inputs are transposed in and the result back out.
Convolutions gather each output position's window (im2col), in blocks of bounded size, and contract
each block with the filter in one BLAS matmul. Depthwise convolution, pooling, Dilation2D and the
transposed convolution loop over the window's taps instead, each tap one vectorized pass over the
outputs whose tap lands inside the input, so padding is never materialized.
"""
from __future__ import annotations

from math import prod
from typing import Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.kernels.conv_util import (ConvInfo, backprop_input_info, conv_info, dilation2d_info, is_channels_last,
                                      pool_info)
from engine.kernels.cpu.fused import apply_fused_ops
from engine.kernels.registry import register

# Elements of one im2col block (8 MB of float32): bounds the patch buffer of big inputs while
# keeping the matmuls few and large, which multithreaded BLAS runs best.
_IM2COL_BLOCK = 1 << 21


# ---------------------------------------------------------------------------------------------
# Convolutions

@register("Conv2D")
def conv2d(x, filters, *, strides, padding: str, data_format: str = "NHWC", dilations=None,
           explicit_paddings=()):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings)
    return _from_channels_last(_convolve(_channels_last(x, info), filters, info), info)


@register("Conv3D")
def conv3d(x, filters, *, strides, padding: str, data_format: str = "NDHWC", dilations=None):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations)
    return _from_channels_last(_convolve(_channels_last(x, info), filters, info), info)


@register("Conv1D")
def conv1d(x, filters, *, stride: int, padding: str, data_format: str = "NWC", dilation: int = 1):
    """TF.js's conv1d (no such TensorFlow op: tf.nn.conv1d is a Conv2D over a height of 1), with
    TF.js's attr names: a scalar `stride` and `dilation`, x (N, W, C), filter (W, C, O)."""
    info = conv_info(x.shape, filters.shape, strides=[stride], padding=padding, data_format=data_format,
                     dilations=[dilation])
    return _from_channels_last(_convolve(_channels_last(x, info), filters, info), info)


@register("DepthwiseConv2d", "DepthwiseConv2dNative")
def depthwise_conv2d(x, filters, *, strides, padding: str, data_format: str = "NHWC", dilations=None,
                     explicit_paddings=()):
    """Filter (KH, KW, C, M): output channel c * M + m convolves input channel c alone."""
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    return _from_channels_last(_depthwise(_channels_last(x, info), filters, info), info)


@register("_FusedConv2D")
def fused_conv2d(x, filters, *args, strides, padding: str, data_format: str = "NHWC", dilations=None,
                 explicit_paddings=(), fused_ops=(), epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2):
    """Conv2D followed by `fused_ops` (bias or batch norm, then an activation) on `args`."""
    y = conv2d(x, filters, strides=strides, padding=padding, data_format=data_format, dilations=dilations,
               explicit_paddings=explicit_paddings)
    return _fused_epilogue(y, fused_ops, args, data_format, epsilon, leakyrelu_alpha)


@register("FusedDepthwiseConv2dNative")
def fused_depthwise_conv2d(x, filters, *args, strides, padding: str, data_format: str = "NHWC",
                           dilations=None, explicit_paddings=(), fused_ops=(), epsilon: float = 1e-4,
                           leakyrelu_alpha: float = 0.2):
    """DepthwiseConv2dNative followed by `fused_ops` on `args`, as _FusedConv2D."""
    y = depthwise_conv2d(x, filters, strides=strides, padding=padding, data_format=data_format,
                         dilations=dilations, explicit_paddings=explicit_paddings)
    return _fused_epilogue(y, fused_ops, args, data_format, epsilon, leakyrelu_alpha)


@register("Conv2DBackpropInput")
def conv2d_backprop_input(input_sizes, filters, out_backprop, *, strides, padding: str,
                          data_format: str = "NHWC", dilations=None, explicit_paddings=()):
    """The transposed convolution: scatters every output gradient back through the filter onto the
    input positions it was computed from (col2im), summing where windows overlap."""
    info = backprop_input_info(np.ravel(input_sizes), filters.shape, out_backprop.shape, strides=strides,
                               padding=padding, data_format=data_format, dilations=dilations,
                               explicit_paddings=explicit_paddings)
    grad_input = np.zeros((info.batch, *info.in_size, info.in_channels), np.result_type(out_backprop, filters))
    if not info.is_empty:
        grad = _channels_last(out_backprop, info).reshape(-1, info.out_channels)
        cols = np.matmul(grad, filters.reshape(-1, info.out_channels).T)
        cols = cols.reshape(info.batch, *info.out_size, *info.window, info.in_channels)
        for tap, outputs, inputs in _tap_regions(info):
            grad_input[inputs] += cols[outputs + tap]
    return _from_channels_last(grad_input, info)


@register("Dilation2D")
def dilation2d(x, filters, *, strides, rates, padding: str):
    """Grayscale morphological dilation: max over the window of input + filter, skipping NaN and
    starting from the dtype's lowest value, as TensorFlow's CPU kernel."""
    info = dilation2d_info(x.shape, filters.shape, strides=strides, rates=rates, padding=padding)
    out = np.full(info.out_shape, _lowest(x.dtype), x.dtype)
    scratch = np.empty_like(out)
    for tap, outputs, inputs in _tap_regions(info):
        np.add(x[inputs], filters[tap], out=scratch[outputs])
        np.fmax(out[outputs], scratch[outputs], out=out[outputs])
    return out


def _fused_epilogue(y, fused_ops, args, data_format: str, epsilon: float, leakyrelu_alpha: float):
    return apply_fused_ops(y, fused_ops, args, epsilon=epsilon, leakyrelu_alpha=leakyrelu_alpha,
                           channel_axis=-1 if is_channels_last(data_format) else 1)


def _convolve(x: np.ndarray, filters: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Channels-last convolution: im2col then matmul, a bounded block of output rows at a time."""
    dtype = np.result_type(x, filters)
    out_shape = (info.batch, *info.out_size, info.out_channels)
    if info.is_empty or filters.size == 0:
        return np.zeros(out_shape, dtype)
    if any(b or a for b, a in info.pads) and not np.isfinite(filters).all():
        return _convolve_by_taps(x, filters, info, dtype)
    weights = filters.reshape(-1, info.out_channels)  # rows ordered (*window, in_channel), as patches
    if _is_pointwise(info):
        return np.matmul(x.reshape(-1, info.in_channels), weights).reshape(out_shape)
    out = np.empty(out_shape, dtype)
    patches = _patches(_pad(x, info), info)
    depth = weights.shape[0]
    rows, row_size = info.out_size[0], prod(info.out_size[1:]) * depth
    rows_per_block = max(1, _IM2COL_BLOCK // row_size)
    buffer = np.empty(min(rows_per_block, rows * info.batch) * row_size, dtype)
    for block in _blocks(info.batch, rows, rows_per_block):
        window = patches[block]
        cols = buffer[:window.size].reshape(window.shape)
        np.copyto(cols, window)
        np.matmul(cols.reshape(-1, depth), weights, out=out[block].reshape(-1, info.out_channels))
    return out


def _convolve_by_taps(x: np.ndarray, filters: np.ndarray, info: ConvInfo, dtype) -> np.ndarray:
    """One matmul per filter tap over the outputs whose input lies inside the image. For non-finite
    weights: im2col would multiply them by padding zeros (NaN), where TensorFlow's result stays finite."""
    out = np.zeros((info.batch, *info.out_size, info.out_channels), dtype)
    for tap, outputs, inputs in _tap_regions(info):
        out[outputs] += np.matmul(x[inputs], filters[tap])
    return out


def _is_pointwise(info: ConvInfo) -> bool:
    """1x1 filter, stride 1, no padding: the convolution is a plain matmul over pixels."""
    return all(k == 1 for k in info.window) and all(s == 1 for s in info.strides) and \
        not any(b or a for b, a in info.pads)


def _blocks(batch: int, rows: int, rows_per_block: int) -> Iterator[tuple]:
    """Indexes of (image, output row) blocks of at most rows_per_block rows: whole images
    together when they fit, else runs of rows within one image."""
    if rows_per_block >= rows:
        images = rows_per_block // rows
        for start in range(0, batch, images):
            yield np.s_[start:start + images]
    else:
        for image in range(batch):
            for start in range(0, rows, rows_per_block):
                yield np.s_[image, start:start + rows_per_block]


def _patches(padded: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Read-only view (N, *out, *window, C) of the padded input: the window every output reads."""
    batch, *spatial, channel = padded.strides
    shape = (padded.shape[0], *info.out_size, *info.window, padded.shape[-1])
    strides = (batch, *(st * s for st, s in zip(spatial, info.strides)),
               *(st * d for st, d in zip(spatial, info.dilations)), channel)
    return as_strided(padded, shape, strides, writeable=False)


def _depthwise(x: np.ndarray, filters: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Channels-last depthwise convolution: one multiply-add pass per filter tap."""
    dtype = np.result_type(x, filters)
    out = np.zeros((info.batch, *info.out_size, info.out_channels), dtype)
    multiplier = filters.shape[-1]
    if multiplier > 1:  # then output channel c * M + m reads input channel c
        x = np.repeat(x, multiplier, axis=-1)
    weights = filters.reshape(*info.window, info.out_channels)
    # Each tap's weights repeated along the output width, so that with stride 1 (width, channel)
    # merge into one long contiguous inner loop instead of a short loop per pixel.
    width = info.out_size[-1]
    tiled = np.ascontiguousarray(np.broadcast_to(weights[..., None, :], (*info.window, width, info.out_channels)))
    product = np.empty_like(out)
    for tap, outputs, inputs in _tap_regions(info):
        tap_weights = tiled[tap][outputs[-1]]
        np.multiply(x[inputs], tap_weights, out=product[outputs])
        np.add(out[outputs], product[outputs], out=out[outputs])
    return out


# ---------------------------------------------------------------------------------------------
# Pooling

@register("MaxPool")
def max_pool(x, *, ksize, strides, padding: str, data_format: str = "NHWC", explicit_paddings=()):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format,
                     explicit_paddings=explicit_paddings)
    return _from_channels_last(_max_over_windows(_channels_last(x, info), info), info)


@register("MaxPool3D")
def max_pool3d(x, *, ksize, strides, padding: str, data_format: str = "NDHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return _from_channels_last(_max_over_windows(_channels_last(x, info), info), info)


@register("AvgPool")
def avg_pool(x, *, ksize, strides, padding: str, data_format: str = "NHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return _from_channels_last(_mean_over_windows(_channels_last(x, info), info), info)


@register("AvgPool3D")
def avg_pool3d(x, *, ksize, strides, padding: str, data_format: str = "NDHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return _from_channels_last(_mean_over_windows(_channels_last(x, info), info), info)


@register("MaxPoolWithArgmax")
def max_pool_with_argmax(x, *, ksize, strides, padding: str, include_batch_in_index: bool = False):
    """NHWC max pooling that also returns where each max came from, as the flat index
    ((b * H + y) * W + x) * C + c (without the b term unless include_batch_in_index).

    TensorFlow's kernel differs from MaxPool on NaN: it starts from the window's first element and
    takes a later one only when strictly greater, so a leading NaN wins and ties keep the first.
    """
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format="NHWC")
    positions = np.arange(x.size, dtype=np.int64).reshape(x.shape)
    if not include_batch_in_index:
        positions %= max(1, prod(x.shape[1:]))
    best = np.zeros(info.out_shape, x.dtype)
    argmax = np.full(info.out_shape, -1, np.int64)
    for _, outputs, inputs in _tap_regions(info):
        values, current = x[inputs], best[outputs]
        take = (argmax[outputs] < 0) | (values > current)
        np.copyto(current, values, where=take)
        np.copyto(argmax[outputs], positions[inputs], where=take)
    return best, argmax


def _max_over_windows(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """TensorFlow's CPU max pooling: starts from the dtype's lowest value and skips NaN, so a window
    of only NaN and -inf gives -3.4e38 for float32."""
    out = np.full((info.batch, *info.out_size, info.out_channels), _lowest(x.dtype), x.dtype)
    for _, outputs, inputs in _tap_regions(info):
        np.fmax(out[outputs], x[inputs], out=out[outputs])
    return out


def _mean_over_windows(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Average over the window's positions inside the input: SAME padding is not counted."""
    total = np.zeros((info.batch, *info.out_size, info.out_channels), x.dtype)
    for _, outputs, inputs in _tap_regions(info):
        np.add(total[outputs], x[inputs], out=total[outputs])
    return np.divide(total, _window_counts(info).astype(x.dtype), out=total)


def _window_counts(info: ConvInfo) -> np.ndarray:
    """How many of each output's window positions fall inside the input, shaped (1, *out, 1)."""
    counts = np.ones((1,) * (info.rank + 2), np.int64)
    for axis, (size, out, k, s, d, (before, _)) in enumerate(
            zip(info.in_size, info.out_size, info.window, info.strides, info.dilations, info.pads)):
        where = np.arange(out)[:, None] * s + np.arange(k)[None, :] * d - before
        inside = ((where >= 0) & (where < size)).sum(axis=1)
        counts = counts * inside.reshape((1,) * (axis + 1) + (-1,) + (1,) * (info.rank - axis))
    return counts


# ---------------------------------------------------------------------------------------------
# Layout and window helpers

def _channels_last(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    return x if info.channels_last else np.moveaxis(x, 1, -1)


def _from_channels_last(y: np.ndarray, info: ConvInfo) -> np.ndarray:
    return y if info.channels_last else np.ascontiguousarray(np.moveaxis(y, -1, 1))


def _pad(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Channels-last x, contiguous, with the info's spatial zero padding."""
    if not any(b or a for b, a in info.pads):
        return np.ascontiguousarray(x)
    shape = (info.batch, *(n + b + a for n, (b, a) in zip(info.in_size, info.pads)), x.shape[-1])
    padded = np.zeros(shape, x.dtype)
    padded[(slice(None), *(slice(b, b + n) for n, (b, _) in zip(info.in_size, info.pads)))] = x
    return padded


def _tap_regions(info: ConvInfo) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...], tuple[slice, ...]]]:
    """(tap, outputs, inputs) for every tap of the window, in row-major order: the basic index of
    the channels-last outputs whose tap lands inside the input, and of the input elements they read.
    Taps that land only in padding are left out."""
    for tap in np.ndindex(*info.window):
        outputs, inputs = [slice(None)], [slice(None)]
        for k, size, out, stride, dilation, (before, _) in zip(
                tap, info.in_size, info.out_size, info.strides, info.dilations, info.pads):
            offset = k * dilation - before  # the input position output 0 reads
            first, end = max(0, -(offset // stride)), min(out, (size - 1 - offset) // stride + 1)
            if end <= first:
                break
            start = first * stride + offset
            outputs.append(slice(first, end))
            inputs.append(slice(start, start + (end - first - 1) * stride + 1, stride))
        else:
            yield tap, tuple(outputs), tuple(inputs)


def _lowest(dtype: np.dtype):
    """The dtype's most negative finite value: TensorFlow's starting point for max."""
    return np.finfo(dtype).min if dtype.kind == "f" else np.iinfo(dtype).min
