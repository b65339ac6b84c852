"""The compiled kernels on OpenMP's threads (numba `parallel=True`): each cuts its output's rows into
`blocks` and runs the one-thread kernel of engine.kernels.cpu.numba_kernels (or one sgemm of numpy's
OpenBLAS, itself on one thread) per block, the blocks at the same time. engine.kernels.cpu.openmp
decides when they run; importing this module imports numba and needs OpenBLAS's cblas_sgemm.

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


def _array(ndim: int, readonly: bool = True) -> types.Array:
    return types.Array(types.float32, ndim, "C", readonly=readonly)


_EPILOGUE = (_array(1), _array(1), _array(1), types.boolean, types.float32, types.float32, _array(1))


@numba.njit([types.void(make_function_type(SGEMM), _array(2), _array(2), _array(2, False), types.int64)],
            **_PARALLEL)
def products(sgemm, a, b, out, blocks):
    """out = a @ b for C-contiguous a (M, K), b (K, N), out (M, N): rows of a in `blocks`, one `sgemm`
    (CBLAS's, passed in so that the cached machine code holds no address) per block."""
    rows, depth = a.shape
    columns = b.shape[1]
    for block in numba.prange(blocks):
        start, stop = rows * block // blocks, rows * (block + 1) // blocks
        if stop > start:
            sgemm(_ROW_MAJOR, _NO_TRANSPOSE, _NO_TRANSPOSE, stop - start, columns, depth, np.float32(1.0),
                  a[start:].ctypes.data, depth, b.ctypes.data, columns, np.float32(0.0), out[start:].ctypes.data,
                  columns)


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
