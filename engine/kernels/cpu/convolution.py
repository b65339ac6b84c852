"""Convolution and pooling ops (op_list/convolution.json) in numpy, as TensorFlow computes them.

Everything runs channels-last; NCHW-style inputs are transposed in and the result back out.
Convolutions gather each output position's window (im2col), in blocks of bounded size, and contract
each block with the filter in one BLAS matmul (1x1 convolutions contract the input in place).
Depthwise convolution sums the taps with einsum over strided views of the padded input
(engine.kernels.cpu.depthwise). Pooling, Dilation2D, the transposed convolution and convolutions with non-finite
weights loop over the window's taps instead, each tap one vectorized pass over the outputs whose tap
lands inside the input, so padding is never materialized.

With the compiled kernels on (engine.kernels.cpu.compiled), the depthwise convolution and the
fused epilogues of both run compiled, and where numpy's OpenBLAS lends its sgemm
(engine.kernels.cpu.openmp) a convolution with a window gathers, multiplies and finishes chunk by
chunk of output rows in one compiled kernel, padding never materialized.

Padded inputs and im2col blocks live in per-thread scratch buffers reused from call to call
(engine.kernels.cpu.workspace); outputs are always fresh arrays. Whether the matmuls use
OpenBLAS's threads is chosen per model call (engine.kernels.cpu.blas).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.kernels.conv_util import (
    ConvInfo, backprop_input_info, conv_info, dilation2d_info, pool_info, tap_regions,
)
from engine.kernels.cpu import compiled, openmp, parallel
from engine.kernels.cpu.depthwise import depthwise
from engine.kernels.cpu.fused import Fused
from engine.kernels.cpu.workspace import scratch
from engine.kernels.registry import KernelTable

KERNELS = KernelTable()

# Elements of one im2col block (8 MB of float32): bounds the patch buffer of big inputs while
# keeping the matmuls few and large.
_IM2COL_BLOCK = 1 << 21

# ---------------------------------------------------------------------------------------------
# Convolutions

@KERNELS.define("Conv2D")
def conv2d(x, filters, *, strides, padding: str, data_format: str = "NHWC", dilations=None,
           explicit_paddings=()):
    info = cached_conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                      dilations=dilations, explicit_paddings=explicit_paddings)
    return _from_channels_last(_convolve(_channels_last(x, info), filters, info), info)


@KERNELS.define("Conv3D")
def conv3d(x, filters, *, strides, padding: str, data_format: str = "NDHWC", dilations=None):
    info = cached_conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                      dilations=dilations)
    return _from_channels_last(_convolve(_channels_last(x, info), filters, info), info)


@KERNELS.define("Conv1D")
def conv1d(x, filters, *, stride: int, padding: str, data_format: str = "NWC", dilation: int = 1):
    """TF.js's conv1d (no such TensorFlow op: tf.nn.conv1d is a Conv2D over a height of 1), with
    TF.js's attr names: a scalar `stride` and `dilation`, x (N, W, C), filter (W, C, O)."""
    info = cached_conv_info(x.shape, filters.shape, strides=[stride], padding=padding, data_format=data_format,
                      dilations=[dilation])
    return _from_channels_last(_convolve(_channels_last(x, info), filters, info), info)


@KERNELS.define("DepthwiseConv2d", "DepthwiseConv2dNative")
def depthwise_conv2d(x, filters, *, strides, padding: str, data_format: str = "NHWC", dilations=None,
                     explicit_paddings=()):
    """Filter (KH, KW, C, M): output channel c * M + m convolves input channel c alone."""
    info = cached_conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                      dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    return _from_channels_last(depthwise(_channels_last(x, info), filters, info), info)


@KERNELS.define("_FusedConv2D")
def fused_conv2d(x, filters, *args, strides, padding: str, data_format: str = "NHWC", dilations=None,
                 explicit_paddings=(), fused_ops=(), epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2):
    """Conv2D followed by `fused_ops` (bias or batch norm, then an activation) on `args`."""
    info = cached_conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                      dilations=dilations, explicit_paddings=explicit_paddings)
    fused = Fused(fused_ops, args, epsilon, leakyrelu_alpha)
    if not info.channels_last:
        return fused.apply(_from_channels_last(_convolve(_channels_last(x, info), filters, info), info), 1)
    return _convolve(x, filters, info, fused)


@KERNELS.define("FusedDepthwiseConv2dNative")
def fused_depthwise_conv2d(x, filters, *args, strides, padding: str, data_format: str = "NHWC",
                           dilations=None, explicit_paddings=(), fused_ops=(), epsilon: float = 1e-4,
                           leakyrelu_alpha: float = 0.2):
    """DepthwiseConv2dNative followed by `fused_ops` on `args`, as _FusedConv2D."""
    info = cached_conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                      dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    fused = Fused(fused_ops, args, epsilon, leakyrelu_alpha)
    if not info.channels_last:
        return fused.apply(_from_channels_last(depthwise(_channels_last(x, info), filters, info), info), 1)
    return depthwise(x, filters, info, fused)


@KERNELS.define("Conv2DBackpropInput")
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
        for tap, outputs, inputs in tap_regions(info):
            grad_input[inputs] += cols[outputs + tap]
    return _from_channels_last(grad_input, info)


@KERNELS.define("Dilation2D")
def dilation2d(x, filters, *, strides, rates, padding: str):
    """Grayscale morphological dilation: max over the window of input + filter, skipping NaN and
    starting from the dtype's lowest value, as TensorFlow's CPU kernel."""
    info = dilation2d_info(x.shape, filters.shape, strides=strides, rates=rates, padding=padding)
    out = np.full(info.out_shape, _lowest(x.dtype), x.dtype)
    scratch = np.empty_like(out)
    for tap, outputs, inputs in tap_regions(info):
        np.add(x[inputs], filters[tap], out=scratch[outputs])
        np.fmax(out[outputs], scratch[outputs], out=out[outputs])
    return out


def _convolve(x: np.ndarray, filters: np.ndarray, info: ConvInfo, fused: Fused | None = None) -> np.ndarray:
    """Channels-last convolution: im2col then matmul, in chunks of output rows (on the helper
    threads too, engine.kernels.cpu.parallel), each chunk in blocks of bounded size; `fused`'s
    epilogue follows each chunk while it is in cache."""
    dtype = np.result_type(x, filters)
    out_shape = (info.batch, *info.out_size, info.out_channels)
    if info.is_empty or filters.size == 0:
        out = np.zeros(out_shape, dtype)
        return out if fused is None else fused.apply(out)
    if any(b or a for b, a in info.pads) and not np.isfinite(filters).all():
        out = _convolve_by_taps(x, filters, info, dtype)
        return out if fused is None else fused.apply(out)
    weights = filters.reshape(-1, info.out_channels)  # rows ordered (*window, in_channel), as patches
    out = np.empty(out_shape, dtype)
    pointwise = _is_pointwise(info)
    # (a plain 1x1 convolution is a product alone)
    epilogue_args = _compiled_epilogue(fused, out) if fused is not None or not pointwise else None
    if epilogue_args is not None:
        if pointwise and openmp.pointwise(x.reshape(-1, info.in_channels), weights,
                                          out.reshape(-1, info.out_channels), epilogue_args):
            return out
        if not pointwise and openmp.convolve(x, weights, out, info, epilogue_args):
            return out
    epilogue = _epilogue_rows(fused, out, epilogue_args)
    rows, depth = info.out_size[0], weights.shape[0]
    if pointwise:
        pixels = x.reshape(info.batch, rows, -1, info.in_channels)
        products = out.reshape(info.batch, rows, -1, info.out_channels)

        def chunk(start: int, stop: int) -> None:
            for image in range(info.batch):
                openmp.matmul(pixels[image, start:stop].reshape(-1, info.in_channels), weights,
                            out=products[image, start:stop].reshape(-1, info.out_channels))
            if epilogue is not None:
                epilogue(start, stop)
    else:
        patches = _patches(_pad(x, info), info)  # of a scratch buffer, like the patch blocks: read here only
        row_size = prod(info.out_size[1:]) * depth
        rows_per_block = max(1, _IM2COL_BLOCK // row_size)

        def chunk(start: int, stop: int) -> None:
            buffer = scratch("im2col", (min(rows_per_block, stop - start) * row_size,), dtype)  # this thread's
            for image in range(info.batch):
                for first in range(start, stop, rows_per_block):
                    window = patches[image, first:min(stop, first + rows_per_block)]
                    cols = buffer[:window.size].reshape(window.shape)
                    np.copyto(cols, window)
                    openmp.matmul(cols.reshape(-1, depth), weights,
                                out=out[image, first:first + window.shape[0]].reshape(-1, info.out_channels))
            if epilogue is not None:
                epilogue(start, stop)
    parallel.for_rows(rows, out.size * depth, chunk)
    if fused is not None and epilogue is None:
        fused.apply(out)
    return out


def _epilogue_rows(fused: Fused | None, out: np.ndarray,
                   compiled_args: tuple | None) -> Callable[[int, int], None] | None:
    """`fused`'s epilogue on rows of out (None without one): compiled where `compiled_args`
    (_compiled_epilogue's) are, else numpy's."""
    if fused is None:
        return None
    return compiled.epilogue_rows(out, compiled_args) if compiled_args is not None else fused.rows(out)


def _compiled_epilogue(fused: Fused | None, out: np.ndarray) -> tuple | None:
    """The compiled kernels' args for `fused`'s epilogue on out (the identity's without one), or None
    where they do not handle it."""
    if not compiled.handles(out.dtype) or out.ndim < 3:
        return None
    return compiled.Epilogue.of(fused, out.shape[-1], out.dtype)


def _convolve_by_taps(x: np.ndarray, filters: np.ndarray, info: ConvInfo, dtype) -> np.ndarray:
    """One matmul per filter tap over the outputs whose input lies inside the image. For non-finite
    weights: im2col would multiply them by padding zeros (NaN), where TensorFlow's result stays finite."""
    out = np.zeros((info.batch, *info.out_size, info.out_channels), dtype)
    for tap, outputs, inputs in tap_regions(info):
        out[outputs] += np.matmul(x[inputs], filters[tap])
    return out


def _is_pointwise(info: ConvInfo) -> bool:
    """1x1 filter, stride 1, no padding: the convolution is a plain matmul over pixels."""
    return all(k == 1 for k in info.window) and all(s == 1 for s in info.strides) and \
        not any(b or a for b, a in info.pads)


def _patches(padded: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Read-only view (N, *out, *window, C) of the padded input: the window every output reads."""
    batch, *spatial, channel = padded.strides
    shape = (padded.shape[0], *info.out_size, *info.window, padded.shape[-1])
    strides = (batch, *(st * s for st, s in zip(spatial, info.strides)),
               *(st * d for st, d in zip(spatial, info.dilations)), channel)
    return as_strided(padded, shape, strides, writeable=False)


def cached_conv_info(x_shape, filter_shape, *, strides, padding: str, data_format: str, dilations=None,
               explicit_paddings=(), depthwise: bool = False) -> ConvInfo:
    """conv_info, remembered per distinct call: a model asks for each layer's geometry again on
    every run, and working it out costs as much as a small layer's arithmetic."""
    key = (tuple(x_shape), tuple(filter_shape), _frozen(strides), padding, data_format, _frozen(dilations),
           _frozen(explicit_paddings), depthwise)
    try:
        return _CONV_INFOS[key]
    except KeyError:
        pass
    except TypeError:  # an attr that can't be a key: work it out every time
        key = None
    info = conv_info(x_shape, filter_shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=depthwise)
    if key is not None:
        if len(_CONV_INFOS) >= 4096:
            _CONV_INFOS.clear()
        _CONV_INFOS[key] = info
    return info


_CONV_INFOS: dict[tuple, ConvInfo] = {}


def _frozen(value):
    """An attr value as a dict key: lists and arrays become tuples."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, np.ndarray):
        return tuple(value.ravel().tolist())
    return value


# ---------------------------------------------------------------------------------------------
# Pooling

@KERNELS.define("MaxPool")
def max_pool(x, *, ksize, strides, padding: str, data_format: str = "NHWC", explicit_paddings=()):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format,
                     explicit_paddings=explicit_paddings)
    return _from_channels_last(_max_over_windows(_channels_last(x, info), info), info)


@KERNELS.define("MaxPool3D")
def max_pool3d(x, *, ksize, strides, padding: str, data_format: str = "NDHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return _from_channels_last(_max_over_windows(_channels_last(x, info), info), info)


@KERNELS.define("AvgPool")
def avg_pool(x, *, ksize, strides, padding: str, data_format: str = "NHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return _from_channels_last(_mean_over_windows(_channels_last(x, info), info), info)


@KERNELS.define("AvgPool3D")
def avg_pool3d(x, *, ksize, strides, padding: str, data_format: str = "NDHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return _from_channels_last(_mean_over_windows(_channels_last(x, info), info), info)


@KERNELS.define("MaxPoolWithArgmax")
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
    for _, outputs, inputs in tap_regions(info):
        values, current = x[inputs], best[outputs]
        take = (argmax[outputs] < 0) | (values > current)
        np.copyto(current, values, where=take)
        np.copyto(argmax[outputs], positions[inputs], where=take)
    return best, argmax


def _max_over_windows(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """TensorFlow's CPU max pooling: starts from the dtype's lowest value and skips NaN, so a window
    of only NaN and -inf gives -3.4e38 for float32."""
    out = np.full((info.batch, *info.out_size, info.out_channels), _lowest(x.dtype), x.dtype)
    for _, outputs, inputs in tap_regions(info):
        np.fmax(out[outputs], x[inputs], out=out[outputs])
    return out


def _mean_over_windows(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Average over the window's positions inside the input: SAME padding is not counted."""
    if all(size == 1 for size in info.out_size) and all(d == 1 for d in info.dilations) and x.size:
        return _mean_of_single_window(x, info)
    if prod(info.window) > PREFIX_SUM_MIN_TAPS and all(d == 1 for d in info.dilations) and x.dtype.kind == "f" \
            and np.isfinite(x).all():
        return (_window_sums_by_prefix(x, info) / _window_counts(info)).astype(x.dtype)
    total = np.zeros((info.batch, *info.out_size, info.out_channels), x.dtype)
    for _, outputs, inputs in tap_regions(info):
        np.add(total[outputs], x[inputs], out=total[outputs])
    return np.divide(total, _window_counts(info, x.dtype), out=total)


def _mean_of_single_window(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """One window per image (a global average pool, squeeze-and-excite's): a pairwise sum over the
    part of the input it covers, 20x faster than prefix sums that serve every window."""
    region = tuple(slice(max(0, -before), min(size, k - before))
                   for size, k, (before, _) in zip(info.in_size, info.window, info.pads))
    covered = x[(slice(None), *region)]
    pixels = np.ascontiguousarray(covered).reshape(info.batch, -1, info.in_channels)
    total = _pairwise_sum(pixels) if x.dtype.kind == "f" else pixels.sum(axis=1, dtype=np.float64)
    mean = total / np.asarray(pixels.shape[1], total.dtype)
    return mean.astype(x.dtype, copy=False).reshape(info.batch, *(1,) * info.rank, info.in_channels)


def _pairwise_sum(pixels: np.ndarray) -> np.ndarray:
    """Sum over axis 1 of (batch, n, channels) by halving: each pass adds the second half of the
    rows onto the first, so a value's rounding error grows with log2(n) additions rather than n
    (numpy sums along an outer axis one row after another), and every pass runs over long rows."""
    count = pixels.shape[1]
    if count == 1:
        return pixels[:, 0].copy()
    half = count // 2
    work = np.add(pixels[:, :half], pixels[:, half:2 * half])
    if count % 2:
        np.add(work[:, 0], pixels[:, -1], out=work[:, 0])
    while half > 1:
        count, half = half, half // 2
        np.add(work[:, :half], work[:, half:2 * half], out=work[:, :half])
        if count % 2:
            np.add(work[:, 0], work[:, count - 1], out=work[:, 0])
    return work[:, 0]


def _window_sums_by_prefix(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Window sums (unit dilation) as differences of float64 prefix sums along each spatial axis: one
    pass per axis instead of one per tap, for big windows. Finite inputs only (a prefix holding an
    Inf would turn windows without it into NaN)."""
    total = x.astype(np.float64)
    for axis, (size, out, k, stride, (before, _)) in enumerate(
            zip(info.in_size, info.out_size, info.window, info.strides, info.pads), start=1):
        prefix = np.zeros(total.shape[:axis] + (size + 1,) + total.shape[axis + 1:])
        np.cumsum(total, axis=axis, out=prefix[(slice(None),) * axis + (slice(1, None),)])
        starts = np.arange(out) * stride - before
        low, high = np.clip(starts, 0, size), np.clip(starts + k, 0, size)
        total = np.take(prefix, high, axis=axis) - np.take(prefix, low, axis=axis)
    return total


PREFIX_SUM_MIN_TAPS = 16  # above this many taps per window, averages come from prefix sums


@lru_cache(maxsize=256)
def _window_counts(info: ConvInfo, dtype: type = np.int64) -> np.ndarray:
    """How many of each output's window positions fall inside the input, shaped (1, *out, 1), in
    `dtype`; worked out once per layer (read-only)."""
    counts = np.ones((1,) * (info.rank + 2), np.int64)
    for axis, (size, out, k, s, d, (before, _)) in enumerate(
            zip(info.in_size, info.out_size, info.window, info.strides, info.dilations, info.pads)):
        where = np.arange(out)[:, None] * s + np.arange(k)[None, :] * d - before
        inside = ((where >= 0) & (where < size)).sum(axis=1)
        counts = counts * inside.reshape((1,) * (axis + 1) + (-1,) + (1,) * (info.rank - axis))
    counts = counts.astype(dtype)
    counts.flags.writeable = False
    return counts


# ---------------------------------------------------------------------------------------------
# Layout and window helpers

def _channels_last(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    return x if info.channels_last else np.moveaxis(x, 1, -1)


def _from_channels_last(y: np.ndarray, info: ConvInfo) -> np.ndarray:
    return y if info.channels_last else np.ascontiguousarray(np.moveaxis(y, -1, 1))


def _pad(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    """Channels-last x, contiguous, with the info's spatial zero padding: x itself when it needs
    neither, else this thread's "padded" scratch buffer (valid until the next _pad call)."""
    if not any(b or a for b, a in info.pads):
        return np.ascontiguousarray(x)
    shape = (info.batch, *(n + b + a for n, (b, a) in zip(info.in_size, info.pads)), x.shape[-1])
    padded = scratch("padded", shape, x.dtype)
    inside = [slice(None)]
    for n, (before, after) in zip(info.in_size, info.pads):
        # zero this axis's borders over the whole extent of the later axes and the inner part of earlier ones
        for border in (slice(0, before), slice(before + n, before + n + after)):
            if border.stop > border.start:
                padded[(*inside, border)] = 0
        inside.append(slice(before, before + n))
    padded[tuple(inside)] = x
    return padded


def _lowest(dtype: np.dtype):
    """The dtype's most negative finite value: TensorFlow's starting point for max."""
    return np.finfo(dtype).min if dtype.kind == "f" else np.iinfo(dtype).min
