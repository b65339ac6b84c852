"""Sparse ops (op_list/sparse.json), as TensorFlow: filling empty rows, reshaping and the segment
reductions that embedding bags are built of. Invalid input raises ValueError with TensorFlow's message.

A SparseTensor is three tensors: indices [nnz, rank] (int64), values [nnz] and its dense shape [rank].
"""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import checked_size

KERNELS = KernelTable()


def _require_rank(array: np.ndarray, rank: int, message: str) -> None:
    if array.ndim != rank:
        raise ValueError(f"{message}, got shape {list(array.shape)}")


@KERNELS.define("SparseFillEmptyRows")
def sparse_fill_empty_rows(indices, values, dense_shape, default_value):
    """Adds (row, 0, ...) = default_value for every row with no entry. Outputs the filled indices
    and values (grouped by row, each row's entries in input order), which rows were empty, and
    where each input entry went."""
    _require_rank(indices, 2, "indices must be a matrix")
    _require_rank(values, 1, "values must be a vector")
    _require_rank(dense_shape, 1, "dense_shape must be a vector")
    if default_value.ndim != 0:
        raise ValueError(f"default_value must be a scalar, saw: {list(default_value.shape)}")
    count, rank = indices.shape
    if values.shape[0] != count:
        raise ValueError(f"The length of `values` ({values.shape[0]}) must match the first dimension of `indices` "
                         f"({count}).")
    if dense_shape.shape[0] != rank:
        raise ValueError(f"The length of `dense_shape` ({dense_shape.shape[0]}) must match the second dimension of "
                         f"`indices` ({rank}).")
    if rank == 0:
        raise ValueError("indices must have at least one column")
    dense_rows = int(dense_shape[0])
    if dense_rows == 0:
        if count:
            raise ValueError(f"Received SparseTensor with dense_shape[0] = 0 but indices.shape[0] = {count}")
        return indices.astype(np.int64), values, np.zeros(0, bool), np.zeros(0, np.int64)
    rows = indices[:, 0].astype(np.int64)
    for position, row in enumerate(rows):
        if row < 0:
            raise ValueError(f"indices({position}, 0) is invalid: {row} < 0")
        if row >= dense_rows:
            raise ValueError(f"indices({position}, 0) is invalid: {row} >= {dense_rows}")
    checked_size("the filled rows", (dense_rows,))
    per_row = np.bincount(rows, minlength=dense_rows)
    empty = per_row == 0
    if not empty.any() and np.all(rows[1:] >= rows[:-1]):
        return indices.astype(np.int64), values, empty, np.arange(count, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(np.maximum(per_row, 1))[:-1]])
    order = np.argsort(rows, kind="stable")
    rank_in_row = np.empty(count, np.int64)
    rank_in_row[order] = np.arange(count) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    reverse_index_map = starts[rows] + rank_in_row
    total = count + int(empty.sum())
    out_indices = np.zeros((total, rank), np.int64)
    out_values = np.empty(total, values.dtype)
    out_indices[reverse_index_map] = indices
    out_values[reverse_index_map] = values
    empty_rows = np.flatnonzero(empty)
    out_indices[starts[empty_rows], 0] = empty_rows
    out_values[starts[empty_rows]] = default_value[()]
    return out_indices, out_values, empty, reverse_index_map


@KERNELS.define("SparseReshape")
def sparse_reshape(input_indices, input_shape, new_shape):
    """The same entries at the indices of a new dense shape (one dimension may be -1: inferred)."""
    _require_rank(input_indices, 2, "Input indices should be a matrix")
    _require_rank(input_shape, 1, "Input shape should be a vector")
    _require_rank(new_shape, 1, "Target shape should be a vector")
    if input_indices.shape[1] != input_shape.shape[0]:
        raise ValueError(f"Input tensor rank must match input shape length: {input_indices.shape[1]} vs "
                         f"{input_shape.shape[0]}")
    in_shape = [int(d) for d in input_shape]
    dense_size = int(np.prod(in_shape, dtype=object))
    out_shape, product, unknown = [], 1, -1
    for axis, size in enumerate(int(d) for d in new_shape):
        if size == -1:
            if unknown != -1:
                raise ValueError(f"only one output dimension may be -1, not both {unknown} and {axis}")
            unknown = axis
            out_shape.append(1)
            continue
        if size < 0:
            raise ValueError(f"size {axis} must be non-negative, not {size}")
        product *= size
        out_shape.append(size)
    if unknown != -1:
        if product <= 0:
            raise ValueError("reshape cannot infer the missing input size for an empty tensor unless all "
                             "specified input sizes are non-zero")
        if dense_size % product:
            raise ValueError(f"Input to reshape is a SparseTensor with {dense_size} dense values, but the requested "
                             f"shape requires a multiple of {product}. input_shape={in_shape} output_shape={out_shape}")
        out_shape[unknown] = dense_size // product
    if int(np.prod(out_shape, dtype=object)) != dense_size:
        raise ValueError(f"Input to reshape is a tensor with {dense_size} dense values, but the requested shape has "
                         f"{int(np.prod(out_shape, dtype=object))}. input_shape={in_shape} output_shape={out_shape}")
    flat = input_indices.astype(np.int64) @ _strides(in_shape)
    out_indices = np.zeros((flat.size, len(out_shape)), np.int64)
    for axis, stride in enumerate(_strides(out_shape)):
        if stride == 0:  # an empty shape holds no entries
            if flat.size:
                raise ValueError(f"cannot place {flat.size} entries in the empty shape {out_shape}")
            continue
        # C++ integer division (toward zero), as TensorFlow's, for indices outside the shape too
        out_indices[:, axis] = np.sign(flat) * (np.abs(flat) // stride)
        flat = flat - out_indices[:, axis] * stride
    return out_indices.astype(np.int64), np.array(out_shape, np.int64)


def _strides(shape: list[int]) -> np.ndarray:
    """Row-major strides of a shape, in elements."""
    return np.array([int(np.prod(shape[axis + 1:], dtype=np.int64)) for axis in range(len(shape))], np.int64)


# -- segment reductions -------------------------------------------------------------------------

def _first_segment_error(segment_ids: np.ndarray, indices: np.ndarray, rows: int, output_rows: int) -> str:
    """TensorFlow's error for invalid segments, the first its segment-by-segment walk meets."""
    starts = np.flatnonzero(np.r_[True, segment_ids[1:] != segment_ids[:-1]])
    ends = np.r_[starts[1:], segment_ids.size]
    for start, end in zip(starts, ends):
        segment = segment_ids[start]
        if end < segment_ids.size and segment_ids[end] < segment:
            return "segment ids are not increasing"
        if not 0 <= segment < output_rows:
            return f"Segment id {segment} out of range [0, {output_rows}), possibly because 'segment_ids' " \
                   "input is not sorted."
        for position in range(start, end):
            if not 0 <= indices[position] < rows:
                return f"Bad: indices[{position}] == {indices[position]} out of range [0, {rows})"
    raise AssertionError("no invalid segment found")


def _segment_sum(data, indices, segment_ids) -> tuple[np.ndarray, np.ndarray]:
    """Sums of data[indices] per (sorted) segment id, and each segment's count; gaps are zero rows."""
    _require_rank(indices, 1, "indices should be a vector.")
    _require_rank(segment_ids, 1, "segment_ids should be a vector.")
    if data.ndim < 1:
        raise ValueError("Shape must be at least rank 1")
    if indices.size != segment_ids.size:
        raise ValueError("segment_ids and indices should have same size.")
    indices, segment_ids = indices.astype(np.int64), segment_ids.astype(np.int64)
    if not indices.size:
        return np.zeros((0,) + data.shape[1:], data.dtype), np.zeros(0, np.int64)
    output_rows = int(segment_ids[-1]) + 1
    if output_rows <= 0:
        raise ValueError("segment ids must be >= 0")
    rows = data.shape[0]
    if np.any(segment_ids[1:] < segment_ids[:-1]) or segment_ids[0] < 0 or np.any((indices < 0) | (indices >= rows)):
        raise ValueError(_first_segment_error(segment_ids, indices, rows, output_rows))
    checked_size("the segment sums", (output_rows,) + data.shape[1:])
    sums = np.zeros((output_rows,) + data.shape[1:], data.dtype)
    np.add.at(sums, segment_ids, data[indices])
    return sums, np.bincount(segment_ids, minlength=output_rows)


@KERNELS.define("SparseSegmentSum")
def sparse_segment_sum(data, indices, segment_ids):
    """out[s] = sum of data[indices[i]] over the i with segment_ids[i] == s (ids sorted; gaps 0)."""
    return _segment_sum(data, indices, segment_ids)[0]


@KERNELS.define("SparseSegmentMean")
def sparse_segment_mean(data, indices, segment_ids):
    """SparseSegmentSum divided by each segment's size (empty segments stay 0)."""
    if data.dtype.kind != "f":
        raise ValueError(f"SparseSegmentMean takes float data, got {data.dtype}")
    sums, counts = _segment_sum(data, indices, segment_ids)
    counts = np.maximum(counts, 1).astype(data.dtype).reshape((-1,) + (1,) * (data.ndim - 1))
    return sums / counts
