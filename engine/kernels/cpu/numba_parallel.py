"""The compiled kernels on OpenMP's threads (numba `parallel=True`): each cuts its output's rows into
`blocks` and runs the one-thread kernel of engine.kernels.cpu.numba_kernels (or sgemms of numpy's
OpenBLAS, itself on one thread) per block, the blocks at the same time. Where a block's sgemm could
sum in another order than a whole product's (OpenBLAS's small-matrix kernels), a `_on_one_thread`
twin runs the very blocks one after another, so both ways give the same bits.
engine.kernels.cpu.openmp decides when they run; importing this module imports numba and needs
OpenBLAS's cblas_sgemm.

Each has one explicit float32 signature whose inputs are read-only arrays (writable ones convert to
them): compiled, or loaded from numba's cache, when this module is imported, so no call ever waits
for another specialisation (a read-only weight and a writable one would each have made one, in the
middle of the calls that blas.ThreadChoice times).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.core.typing.ctypes_utils import make_function_type

from engine.kernels.cpu import blas
from engine.kernels.cpu import numba_kernels as serial

_PARALLEL = {"parallel": True, "nogil": True, "cache": True, "error_model": "numpy", "boundscheck": False}
_ROW_MAJOR, _NO_TRANSPOSE = 101, 111  # CBLAS's enums
SGEMM = blas.cblas_sgemm()
IM2COL_CHUNK = 1 << 15  # gathered window values per sgemm: 128 KiB, in cache for the product
SEPARABLE_CHUNK = 1 << 15  # depthwise values per chunk of a separable convolution (128 KiB), likewise
SEPARABLE_MIN_PIXELS = 128  # and at least this many pixels per chunk's product (each repacks the 1x1 filter)


def _array(ndim: int, readonly: bool = True) -> types.Array:
    return types.Array(types.float32, ndim, "C", readonly=readonly)


_EPILOGUE = (_array(1), _array(1), _array(1), types.boolean, types.float32, types.float32, _array(1))


@numba.njit(inline="always")
def _product_block(sgemm, a, b, out, block, blocks):
    rows, depth = a.shape
    columns = b.shape[1]
    start, stop = rows * block // blocks, rows * (block + 1) // blocks
    if stop > start:
        sgemm(_ROW_MAJOR, _NO_TRANSPOSE, _NO_TRANSPOSE, stop - start, columns, depth, np.float32(1.0),
              a[start:].ctypes.data, depth, b.ctypes.data, columns, np.float32(0.0), out[start:].ctypes.data, columns)


_PRODUCTS = types.void(make_function_type(SGEMM), _array(2), _array(2), _array(2, False), types.int64)


@numba.njit([_PRODUCTS], **_PARALLEL)
def products(sgemm, a, b, out, blocks):
    """out = a @ b for C-contiguous a (M, K), b (K, N), out (M, N): rows of a in `blocks`, one `sgemm`
    (CBLAS's, passed in so that the cached machine code holds no address) per block."""
    for block in numba.prange(blocks):
        _product_block(sgemm, a, b, out, block, blocks)


@numba.njit([_PRODUCTS], **{**_PARALLEL, "parallel": False})
def products_on_one_thread(sgemm, a, b, out, blocks):
    """products' sgemms, one after another on the calling thread: the same bits (OpenBLAS's sgemm can
    sum in another order for another number of rows, as its small-matrix kernels take over)."""
    for block in range(blocks):
        _product_block(sgemm, a, b, out, block, blocks)


@numba.njit(inline="always")
def _pointwise_block(sgemm, a, b, out, block, blocks, sub, mul, add, scales_negatives, low, high, slope):
    """A block's product, then the epilogue on its rows (whole pixels: each row is one pixel's channels)."""
    _product_block(sgemm, a, b, out, block, blocks)
    rows, columns = a.shape[0], b.shape[1]
    start, stop = rows * block // blocks, rows * (block + 1) // blocks
    serial._finish(out.reshape(-1)[start * columns:stop * columns], sub, mul, add, scales_negatives, low, high, slope)


_POINTWISE = types.void(make_function_type(SGEMM), _array(2), _array(2), _array(2, False), types.int64, *_EPILOGUE)


@numba.njit([_POINTWISE], **_PARALLEL)
def pointwise(sgemm, a, b, out, blocks, sub, mul, add, scales_negatives, low, high, slope):
    """A 1x1 convolution over pixels: out = a @ b as `products` (the same blocks, so the same bits),
    each block finished with the epilogue in the same parallel region (one fork instead of two)."""
    for block in numba.prange(blocks):
        _pointwise_block(sgemm, a, b, out, block, blocks, sub, mul, add, scales_negatives, low, high, slope)


@numba.njit([_POINTWISE], **{**_PARALLEL, "parallel": False})
def pointwise_on_one_thread(sgemm, a, b, out, blocks, sub, mul, add, scales_negatives, low, high, slope):
    """pointwise's blocks one after another on the calling thread: the same bits."""
    for block in range(blocks):
        _pointwise_block(sgemm, a, b, out, block, blocks, sub, mul, add, scales_negatives, low, high, slope)


@numba.njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)
def _separable_chunk(sgemm, x, depthwise_weights, taps, pointwise_weights, out, chunk, chunks, chunk_rows,
                     stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, inside_start, inside_stop,
                     sub, mul, add, scales_negatives, low, high, slope,
                     out_sub, out_mul, out_add, out_scales_negatives, out_low, out_high, out_slope):
    """Output rows [start, stop) of image n: their depthwise rows (and its epilogue) into a buffer
    of this chunk's own, then one sgemm by the 1x1 filter into out, then out's epilogue."""
    n, start = chunk // chunks, chunk % chunks * chunk_rows
    rows, out_w, channels = out.shape[1], out.shape[2], x.shape[3]
    stop = min(rows, start + chunk_rows)
    hidden = np.empty((stop - start, out_w, channels), np.float32)
    for oh in range(start, stop):
        row = hidden[oh - start]
        serial.depthwise_row(x, n, depthwise_weights, taps, row, oh, stride_h, stride_w, dilation_h, dilation_w,
                             pad_top, pad_left, inside_start, inside_stop)
        serial._finish(row.reshape(-1), sub, mul, add, scales_negatives, low, high, slope)
    columns = pointwise_weights.shape[1]
    values = out.reshape(-1)[(n * rows + start) * out_w * columns:(n * rows + stop) * out_w * columns]
    sgemm(_ROW_MAJOR, _NO_TRANSPOSE, _NO_TRANSPOSE, (stop - start) * out_w, columns, channels, np.float32(1.0),
          hidden.ctypes.data, channels, pointwise_weights.ctypes.data, columns, np.float32(0.0), values.ctypes.data,
          columns)
    serial._finish(values, out_sub, out_mul, out_add, out_scales_negatives, out_low, out_high, out_slope)


@numba.njit(nogil=True, cache=True)
def _separable_setup(x, depthwise_weights, out, chunk_rows, stride_w, dilation_w, pad_left):
    """Chunks per image, the output columns whose depthwise windows lie inside x, the 3x3 taps."""
    inside_start, inside_stop = serial.depthwise_columns(x.shape[2], depthwise_weights.shape[1], out.shape[2],
                                                         stride_w, dilation_w, pad_left)
    return -(-out.shape[1] // chunk_rows), inside_start, inside_stop, serial.depthwise_taps(depthwise_weights)


_SEPARABLE = types.void(make_function_type(SGEMM), _array(4), _array(3), _array(2), _array(4, False),
                        *(types.int64,) * 7, *_EPILOGUE, *_EPILOGUE)


@numba.njit([_SEPARABLE], **_PARALLEL)
def separable(sgemm, x, depthwise_weights, pointwise_weights, out, chunk_rows, stride_h, stride_w, dilation_h,
              dilation_w, pad_top, pad_left, sub, mul, add, scales_negatives, low, high, slope,
              out_sub, out_mul, out_add, out_scales_negatives, out_low, out_high, out_slope):
    """out = the 1x1 convolution by pointwise_weights (C, OC) of the depthwise convolution of x
    (N, H, W, C) by depthwise_weights (KH, KW, C), each with its epilogue, in chunks of chunk_rows
    output rows: the depthwise rows of a chunk stay in cache for its product."""
    chunks, inside_start, inside_stop, taps = _separable_setup(x, depthwise_weights, out, chunk_rows, stride_w,
                                                               dilation_w, pad_left)
    for chunk in numba.prange(out.shape[0] * chunks):
        _separable_chunk(sgemm, x, depthwise_weights, taps, pointwise_weights, out, chunk, chunks, chunk_rows,
                         stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, inside_start, inside_stop,
                         sub, mul, add, scales_negatives, low, high, slope,
                         out_sub, out_mul, out_add, out_scales_negatives, out_low, out_high, out_slope)


@numba.njit([_SEPARABLE], **{**_PARALLEL, "parallel": False})
def separable_on_one_thread(sgemm, x, depthwise_weights, pointwise_weights, out, chunk_rows, stride_h, stride_w,
                            dilation_h, dilation_w, pad_top, pad_left, sub, mul, add, scales_negatives, low, high,
                            slope, out_sub, out_mul, out_add, out_scales_negatives, out_low, out_high, out_slope):
    """separable's chunks one after another on the calling thread: the same bits."""
    chunks, inside_start, inside_stop, taps = _separable_setup(x, depthwise_weights, out, chunk_rows, stride_w,
                                                               dilation_w, pad_left)
    for chunk in range(out.shape[0] * chunks):
        _separable_chunk(sgemm, x, depthwise_weights, taps, pointwise_weights, out, chunk, chunks, chunk_rows,
                         stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, inside_start, inside_stop,
                         sub, mul, add, scales_negatives, low, high, slope,
                         out_sub, out_mul, out_add, out_scales_negatives, out_low, out_high, out_slope)


def separable_chunk_rows(rows: int, out_w: int, channels: int, threads: int) -> int:
    """Output rows per chunk of `separable`: depthwise buffers of about SEPARABLE_CHUNK values, but
    products of at least SEPARABLE_MIN_PIXELS rows (each repacks the 1x1 filter), in a multiple of
    `threads` chunks of even size. The chunks depend on the shape and thread count alone, so both
    ways give the same bits."""
    wanted = max(1, SEPARABLE_CHUNK // max(1, out_w * channels), _ceil(SEPARABLE_MIN_PIXELS, max(1, out_w)))
    chunks = min(rows, _ceil(_ceil(rows, wanted), threads) * threads)
    return _ceil(rows, max(1, chunks))


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@numba.njit([types.void(_array(4), _array(3), _array(4, False), *(types.int64,) * 7, *_EPILOGUE)], **_PARALLEL)
def depthwise(x, weights, out, blocks, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
              sub, mul, add, scales_negatives, low, high, slope):
    """numba_kernels.depthwise_rows over all of out's rows, in `blocks` of rows."""
    rows = out.shape[1]
    for block in numba.prange(blocks):
        serial.depthwise_rows(x, weights, out, rows * block // blocks, rows * (block + 1) // blocks, stride_h,
                              stride_w, dilation_h, dilation_w, pad_top, pad_left, sub, mul, add,
                              scales_negatives, low, high, slope)


@numba.njit([types.void(_array(3, False), *(types.int64,) * 3, *_EPILOGUE)], **_PARALLEL)
def epilogue(y, row_start, row_stop, blocks, sub, mul, add, scales_negatives, low, high, slope):
    """numba_kernels.epilogue_rows over y[:, row_start:row_stop], in `blocks` of rows."""
    rows = row_stop - row_start
    for block in numba.prange(blocks):
        serial.epilogue_rows(y, row_start + rows * block // blocks, row_start + rows * (block + 1) // blocks,
                             sub, mul, add, scales_negatives, low, high, slope)


@numba.njit(inline="always")
def _gather_row(x, n, cols, oh, out_w, stride_h, stride_w, pad_top, pad_left, window_h, window_w, dilation_h,
                dilation_w):
    """cols[ow] = the window of output (oh, ow) in x[n], for every ow: taps in (KH, KW, C) order, zeros
    where a tap falls outside x. Where a window's row lies inside x it is one run of KW * C values."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    span = window_w * channels
    flat = cols.reshape(-1)
    depth = window_h * span
    for kh in range(window_h):
        ih = oh * stride_h + kh * dilation_h - pad_top
        if ih < 0 or ih >= height:
            for ow in range(out_w):
                base = ow * depth + kh * span
                for j in range(span):
                    flat[base + j] = 0
            continue
        source = x[n, ih].reshape(-1)
        for ow in range(out_w):
            base = ow * depth + kh * span
            left = ow * stride_w - pad_left
            if dilation_w == 1 and left >= 0 and left + window_w <= width:
                start = left * channels
                for j in range(span):
                    flat[base + j] = source[start + j]
                continue
            for kw in range(window_w):
                iw = left + kw * dilation_w
                inside = 0 <= iw < width
                for c in range(channels):
                    flat[base + kw * channels + c] = source[iw * channels + c] if inside else 0


@numba.njit(inline="always")
def _convolve_chunks(sgemm, x, weights, out, chunk_start, chunk_stop, chunk_rows, out_w, window_h, window_w,
                     stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, sub, mul, add, scales_negatives,
                     low, high, slope):
    """Chunks [chunk_start, chunk_stop) of `chunk_rows` output rows of every image: gathered, one sgemm
    each, then the epilogue, while the chunk is in cache."""
    out_h, columns, depth = out.shape[1], weights.shape[1], weights.shape[0]
    cols = np.empty((min(chunk_rows, out_h) * out_w, depth), np.float32)
    for n in range(x.shape[0]):
        for chunk in range(chunk_start, chunk_stop):
            first, last = chunk * chunk_rows, min(out_h, (chunk + 1) * chunk_rows)
            for oh in range(first, last):
                _gather_row(x, n, cols[(oh - first) * out_w:], oh, out_w, stride_h, stride_w, pad_top, pad_left,
                            window_h, window_w, dilation_h, dilation_w)
            sgemm(_ROW_MAJOR, _NO_TRANSPOSE, _NO_TRANSPOSE, (last - first) * out_w, columns, depth, np.float32(1.0),
                  cols.ctypes.data, depth, weights.ctypes.data, columns, np.float32(0.0), out[n, first:].ctypes.data,
                  columns)
            serial.epilogue_rows(out[n:n + 1], first, last, sub, mul, add, scales_negatives, low, high, slope)


def chunk_rows(out_w: int, depth: int) -> int:
    """Output rows per chunk of a convolution: at most IM2COL_CHUNK gathered values (or one row)."""
    return max(1, IM2COL_CHUNK // (out_w * depth))


_CONVOLVE = types.void(make_function_type(SGEMM), _array(4), _array(2), _array(3, False), *(types.int64,) * 11,
                       *_EPILOGUE)


@numba.njit([_CONVOLVE], **_PARALLEL)
def convolve(sgemm, x, weights, out, blocks, chunk_rows, out_w, window_h, window_w, stride_h, stride_w, dilation_h,
             dilation_w, pad_top, pad_left, sub, mul, add, scales_negatives, low, high, slope):
    """out (N, OH, OW * OC) = the convolution of x (N, H, W, C) by weights (KH * KW * C, OC), then the
    epilogue, in chunks of `chunk_rows` output rows (the same chunks, so the same sgemms and bits, as
    convolve_on_one_thread), the chunks shared out in `blocks`."""
    chunks = -(-out.shape[1] // chunk_rows)
    for block in numba.prange(blocks):
        _convolve_chunks(sgemm, x, weights, out, chunks * block // blocks, chunks * (block + 1) // blocks, chunk_rows,
                         out_w, window_h, window_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                         sub, mul, add, scales_negatives, low, high, slope)


@numba.njit([_CONVOLVE], **{**_PARALLEL, "parallel": False})
def convolve_on_one_thread(sgemm, x, weights, out, blocks, chunk_rows, out_w, window_h, window_w, stride_h, stride_w,
                           dilation_h, dilation_w, pad_top, pad_left, sub, mul, add, scales_negatives, low, high,
                           slope):
    """convolve's work on the calling thread (`blocks` is ignored)."""
    _convolve_chunks(sgemm, x, weights, out, 0, -(-out.shape[1] // chunk_rows), chunk_rows, out_w, window_h, window_w,
                     stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, sub, mul, add, scales_negatives,
                     low, high, slope)


@numba.njit([types.void(types.Array(types.int64, 2, "C", readonly=True), *(_array(1),) * 4, _array(2),
                        _array(1, False), types.float32, types.float32, types.int64, types.int64)], **_PARALLEL)
def chain(codes, full0, full1, full2, full3, constants, out, zero, six, spans, blocks):
    """numba_kernels.chain_spans over out's `spans` spans, in `blocks` of spans."""
    for block in numba.prange(blocks):
        serial.chain_spans(codes, full0, full1, full2, full3, constants, out, zero, six, spans * block // blocks,
                           spans * (block + 1) // blocks)


_INDEXES = types.Array(types.int64, 1, "C", readonly=True)


@numba.njit([types.void(_array(4), _INDEXES, _INDEXES, _array(1), _INDEXES, _INDEXES, _array(1), _array(4, False),
                        types.int64)], **_PARALLEL)
def resize_bilinear(pixels, y_low, y_high, y_lerp, x_low, x_high, x_lerp, out, blocks):
    """numba_kernels.resize_bilinear_rows over all of out's rows, in `blocks` of rows."""
    rows = out.shape[1]
    for block in numba.prange(blocks):
        serial.resize_bilinear_rows(pixels, y_low, y_high, y_lerp, x_low, x_high, x_lerp, out, rows * block // blocks,
                                    rows * (block + 1) // blocks)
