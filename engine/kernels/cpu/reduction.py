"""Reduction ops (op_list/reduction.json): axis reductions, arg-extrema, scans and bin counts, and
UnsortedSegmentSum (a TF.js WebGL kernel), as TensorFlow.

Reductions take their axes as a tensor (scalar or vector, negative allowed, empty = no reduction) and
give TensorFlow's identities on empty input: Sum 0, Prod 1, Max -inf / int min, Min +inf / int max,
Mean NaN (0 for integers).
"""
from __future__ import annotations

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.reduction import arg_axis, check_bincount, check_segment_ids, segment_sum_shape
from engine.kernels.resolve.values import reduction_axes, scalar

KERNELS = KernelTable()


def _reduced_count(x: np.ndarray, axes: tuple[int, ...]) -> int:
    return int(np.prod([x.shape[a] for a in axes], dtype=np.int64))


@KERNELS.define("Sum")
def sum_(x, axis, *, keep_dims: bool = False):
    return np.sum(x, axis=reduction_axes(axis, x.ndim), dtype=x.dtype, keepdims=keep_dims)


@KERNELS.define("Prod")
def prod(x, axis, *, keep_dims: bool = False):
    return np.prod(x, axis=reduction_axes(axis, x.ndim), dtype=x.dtype, keepdims=keep_dims)


@KERNELS.define("Mean")
def mean(x, axis, *, keep_dims: bool = False):
    """Integer means divide the (wrapping) integer sum by the count, truncating toward zero;
    an empty integer reduction gives 0 and an empty float one NaN, as TensorFlow."""
    axes = reduction_axes(axis, x.ndim)
    total = np.sum(x, axis=axes, dtype=x.dtype, keepdims=keep_dims)
    count = _reduced_count(x, axes)
    if x.dtype.kind in "iu":
        wide = np.asarray(total, np.int64)
        return (np.sign(wide) * (np.abs(wide) // max(count, 1))).astype(x.dtype)
    return np.divide(total, count, dtype=x.dtype)


@KERNELS.define("Max")
def max_(x, axis, *, keep_dims: bool = False):
    """NaN wins (as TensorFlow's reducer); an empty reduction gives the dtype's bottom value."""
    return np.max(x, axis=reduction_axes(axis, x.ndim), keepdims=keep_dims, initial=_bottom(x.dtype))


@KERNELS.define("Min")
def min_(x, axis, *, keep_dims: bool = False):
    return np.min(x, axis=reduction_axes(axis, x.ndim), keepdims=keep_dims, initial=_top(x.dtype))


def _bottom(dtype: np.dtype):
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _top(dtype: np.dtype):
    if dtype.kind == "f":
        return np.inf
    return True if dtype.kind == "b" else np.iinfo(dtype).max


@KERNELS.define("All")
def all_(x, axis, *, keep_dims: bool = False):
    return np.all(x, axis=reduction_axes(axis, x.ndim), keepdims=keep_dims)


@KERNELS.define("Any")
def any_(x, axis, *, keep_dims: bool = False):
    return np.any(x, axis=reduction_axes(axis, x.ndim), keepdims=keep_dims)


@KERNELS.define("ArgMax")
def arg_max(x, dimension, *, output_type: str = "int64"):
    return _arg_extremum(x, dimension, output_type, largest=True)


@KERNELS.define("ArgMin")
def arg_min(x, dimension, *, output_type: str = "int64"):
    return _arg_extremum(x, dimension, output_type, largest=False)


def _arg_extremum(x: np.ndarray, dimension: np.ndarray, output_type: str, largest: bool) -> np.ndarray:
    """First index of the extremum. TensorFlow's reducer starts from (index 0, lowest finite value)
    and only moves to a strictly better value, so NaN never wins and a slice whose best value is
    no better than that start (all NaN, -inf, lowest) reports index 0."""
    axis = arg_axis(dimension, x.shape)
    pick = np.argmax if largest else np.argmin
    if x.dtype.kind != "f":
        return pick(x, axis=axis).astype(dtypes.numpy_dtype(output_type))
    start = np.finfo(x.dtype).min if largest else np.finfo(x.dtype).max
    comparable = np.where(np.isnan(x), -np.inf if largest else np.inf, x)
    index = pick(comparable, axis=axis)
    best = np.take_along_axis(comparable, np.expand_dims(index, axis), axis).squeeze(axis)
    beats_start = best > start if largest else best < start
    return np.where(beats_start, index, 0).astype(dtypes.numpy_dtype(output_type))


@KERNELS.define("Cumsum")
def cumsum(x, axis, *, exclusive: bool = False, reverse: bool = False):
    return _scan(x, axis, exclusive, reverse, np.cumsum, identity=0)


@KERNELS.define("Cumprod")
def cumprod(x, axis, *, exclusive: bool = False, reverse: bool = False):
    return _scan(x, axis, exclusive, reverse, np.cumprod, identity=1)


def _scan(x: np.ndarray, axis: np.ndarray, exclusive: bool, reverse: bool, accumulate, identity) -> np.ndarray:
    """Runs the scan along axis 0 of a view; `exclusive` shifts it by one, starting at the identity."""
    (axis,) = reduction_axes(axis, x.ndim)
    moved = np.moveaxis(x, axis, 0)
    if reverse:
        moved = moved[::-1]
    out = accumulate(moved, axis=0, dtype=x.dtype)
    if exclusive:
        first = np.full((1,) + out.shape[1:], identity, out.dtype)
        out = np.concatenate([first, out[:-1]])[:len(moved)]
    if reverse:
        out = out[::-1]
    return np.moveaxis(out, 0, axis)


@KERNELS.define("Bincount")
def bincount(arr, size, weights):
    """Counts of each value of `arr` in [0, size), or sums of `weights` there; larger values are
    dropped. The output has the weights' dtype even when weights is empty (plain counts)."""
    return _bin_rows(arr.reshape(1, -1), size, weights.reshape(1, -1) if weights.size else None,
                     weights.dtype, binary=False)[0]


@KERNELS.define("DenseBincount")
def dense_bincount(values, size, weights, *, binary_output: bool = False):
    """Bincount of a vector, or of each row of a matrix; `binary_output` marks presence (ignoring weights)."""
    rows = values.reshape(1, -1) if values.ndim <= 1 else values
    row_weights = weights.reshape(rows.shape) if weights.size else None
    counts = _bin_rows(rows, size, row_weights, weights.dtype, binary_output)
    return counts[0] if values.ndim <= 1 else counts


def _bin_rows(values: np.ndarray, size: np.ndarray, weights: np.ndarray | None, dtype: np.dtype,
              binary: bool) -> np.ndarray:
    size = int(scalar(size))
    check_bincount(size, values)
    in_range = values < size
    bins = (np.arange(len(values))[:, None] * size + values)[in_range]
    summed = None if binary or weights is None else weights[in_range]
    counts = np.bincount(bins, weights=summed, minlength=len(values) * size).reshape(len(values), size)
    return (counts > 0 if binary else counts).astype(dtype)


@KERNELS.define("UnsortedSegmentSum")
def unsorted_segment_sum(data, segment_ids, num_segments):
    """out[s] sums the slices data[i...] whose segment_ids[i...] == s, in index order; negative ids
    are dropped, ids from num_segments on are TensorFlow's error."""
    num = int(scalar(num_segments))
    out_shape = segment_sum_shape(data.shape, segment_ids.shape, num)
    check_segment_ids(segment_ids, num)
    ids = segment_ids.reshape(-1).astype(np.int64)
    slices = data.reshape(ids.size, int(np.prod(out_shape[1:], dtype=np.int64)))
    kept = ids >= 0
    out = np.zeros((num, slices.shape[1]), data.dtype)
    np.add.at(out, ids[kept], slices[kept])
    return out.reshape(out_shape)
