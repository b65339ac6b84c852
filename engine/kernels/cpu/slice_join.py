"""Slice and join ops (op_list/slice_join.json): concat, gather, slicing, stacking, splitting, scatter.

Index and shape inputs arrive as int32 arrays. Out-of-range indices raise ValueError, as TensorFlow's
CPU kernels reject them rather than clamp (TF.js's GPU behaviour).
"""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import register


def _ints(values) -> list[int]:
    return [int(v) for v in np.asarray(values).reshape(-1)]


def _scalar(value) -> int:
    return int(np.asarray(value).reshape(-1)[0])


def _axis(axis: int, rank: int, op: str) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


# -- joining ----------------------------------------------------------------------------------------

@register("ConcatV2")
def concat_v2(*values_and_axis):
    """Inputs are the tensors, then the axis."""
    return _concat(values_and_axis[:-1], _scalar(values_and_axis[-1]), "ConcatV2")


@register("Concat")
def concat(axis, *values):
    """The legacy op takes the axis first."""
    return _concat(values, _scalar(axis), "Concat")


def _concat(values, axis: int, op: str) -> np.ndarray:
    rank = values[0].ndim
    if rank == 0:
        raise ValueError(f"{op}: cannot concatenate scalars")
    return np.concatenate(values, axis=_axis(axis, rank, op))


@register("Pack")
def pack(*values, axis: int = 0):
    rank = values[0].ndim + 1
    return np.stack(values, axis=_axis(axis, rank, "Pack"))


@register("Unpack")
def unpack(value, *, axis: int = 0):
    return list(np.moveaxis(value, _axis(axis, value.ndim, "Unpack"), 0))


@register("Tile")
def tile(x, multiples):
    reps = _ints(multiples)
    if len(reps) != x.ndim or any(r < 0 for r in reps):
        raise ValueError(f"Tile: multiples {reps} must be {x.ndim} non-negative counts")
    return np.tile(x, reps)


# -- splitting --------------------------------------------------------------------------------------

@register("Split")
def split(axis, value, *, num_split: int):
    axis = _axis(_scalar(axis), value.ndim, "Split")
    if num_split <= 0 or value.shape[axis] % num_split:
        raise ValueError(f"Split: {num_split} splits do not evenly divide dimension {axis} "
                         f"(size {value.shape[axis]})")
    return np.split(value, num_split, axis=axis)


@register("SplitV")
def split_v(value, size_splits, axis):
    """One size may be -1: it takes what the others leave."""
    axis = _axis(_scalar(axis), value.ndim, "SplitV")
    sizes = _ints(size_splits)
    dim = value.shape[axis]
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"SplitV: bad size_splits {sizes}: at most one -1 and no other negatives")
    if unknown:
        sizes[unknown[0]] = dim - sum(s for s in sizes if s != -1)
    if sum(sizes) != dim or min(sizes, default=0) < 0:
        raise ValueError(f"SplitV: size_splits {sizes} do not sum to dimension {axis} (size {dim})")
    return np.split(value, np.cumsum(sizes)[:-1], axis=axis)


# -- slicing ----------------------------------------------------------------------------------------

@register("Slice")
def slice_(x, begin, size):
    """A size of -1 takes everything from begin to the end of that dimension."""
    starts, sizes = _ints(begin), _ints(size)
    if len(starts) != x.ndim or len(sizes) != x.ndim:
        raise ValueError(f"Slice: begin {starts} and size {sizes} must have {x.ndim} entries")
    index = []
    for i, (start, count, dim) in enumerate(zip(starts, sizes, x.shape)):
        count = dim - start if count == -1 else count
        if not 0 <= start <= dim or not 0 <= count <= dim - start:
            raise ValueError(f"Slice: begin[{i}] = {start}, size[{i}] = {sizes[i]} do not fit dimension "
                             f"{i} of shape {list(x.shape)}")
        index.append(slice(start, start + count))
    return x[tuple(index)]


_NEW_AXIS = -1


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


@register("StridedSlice")
def strided_slice(x, begin, end, strides, *, begin_mask: int = 0, end_mask: int = 0, ellipsis_mask: int = 0,
                  new_axis_mask: int = 0, shrink_axis_mask: int = 0):
    """TensorFlow's full slice spec (tensorflow/core/util/strided_slice_op.cc): the sparse spec, with
    its ellipsis and new axes, expands to one range per input dimension; each range is canonicalized
    (negative indices, clamping, masks) and the sliced block reshaped to drop shrunk axes and insert
    new ones."""
    dense, layout = _dense_slice_spec(x.ndim, _ints(begin), _ints(end), _ints(strides), begin_mask, end_mask,
                                      ellipsis_mask, new_axis_mask, shrink_axis_mask)
    index, sizes = [], []
    for dim_index, (dim, spec) in enumerate(zip(x.shape, dense)):
        start, size, stride = _canonical_range(dim_index, dim, *spec)
        stop = start + size * stride
        index.append(slice(start, stop if stop >= 0 else None, stride) if size else slice(0, 0))
        sizes.append(size)
    return x[tuple(index)].reshape([1 if d == _NEW_AXIS else sizes[d] for d in layout])


def _dense_slice_spec(rank: int, begin: list[int], end: list[int], strides: list[int], begin_mask: int,
                      end_mask: int, ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int):
    """Returns, per input dimension, (begin, end, stride, begin masked, end masked, shrink), and the
    output's layout: for each output dimension the input dimension it comes from, or _NEW_AXIS."""
    if ellipsis_mask & (ellipsis_mask - 1):
        raise ValueError("StridedSlice: multiple ellipses in slice spec not allowed")
    if not len(begin) == len(end) == len(strides):
        raise ValueError("StridedSlice: begin, end and strides must have the same length")
    count = len(begin)
    ellipsis_at = next((i for i in range(count) if _bit(ellipsis_mask, i)), count)  # none: one at the end
    new_axes_after_ellipsis = sum(_bit(new_axis_mask, i) for i in range(ellipsis_at + 1, count))
    sparse_count = count + (ellipsis_at == count)
    dense, layout = [], []
    for i in range(sparse_count):
        if i == ellipsis_at:
            stop = min(rank - (sparse_count - i) + 1 + new_axes_after_ellipsis, rank)
            while len(dense) < stop:
                layout.append(len(dense))
                dense.append((0, 0, 1, True, True, False))
        elif _bit(new_axis_mask, i):
            layout.append(_NEW_AXIS)
        else:
            if len(dense) == rank:
                raise ValueError(f"StridedSlice: index out of range using input dim {rank}; "
                                 f"input has only {rank} dims")
            shrink = _bit(shrink_axis_mask, i)
            if not shrink:
                layout.append(len(dense))
            dense.append((begin[i], end[i], strides[i], _bit(begin_mask, i), _bit(end_mask, i), shrink))
    return dense, layout


def _canonical_range(dim_index: int, dim: int, begin: int, end: int, stride: int, begin_masked: bool,
                     end_masked: bool, shrink: bool) -> tuple[int, int, int]:
    """(first index, element count, stride) of one dimension's range, as TensorFlow resolves it."""
    if stride == 0:
        raise ValueError(f"StridedSlice: strides[{dim_index}] must be non-zero")
    if shrink:
        if stride < 0:
            raise ValueError("StridedSlice: only stride 1 allowed on non-range indexing")
        start = begin + dim if begin < 0 else begin
        if not 0 <= start < dim:
            raise ValueError(f"StridedSlice: slice index {begin} of dimension {dim_index} out of bounds")
        return start, 1, 1
    low, high = (0, dim) if stride > 0 else (-1, dim - 1)

    def canonical(value: int, masked: bool, is_end: bool) -> int:
        if masked:
            return high if is_end == (stride > 0) else low
        value = value + dim if value < 0 else value
        return min(max(value, low), high)

    start, stop = canonical(begin, begin_masked, False), canonical(end, end_masked, True)
    length = stop - start
    if length == 0 or (length < 0) != (stride < 0):
        return start, 0, stride
    return start, -(-abs(length) // abs(stride)), stride


@register("Reverse")
def reverse(x, dims):
    """The legacy op names the reversed axes by a bool per dimension."""
    flags = np.asarray(dims, dtype=bool).reshape(-1)
    if flags.size != x.ndim:
        raise ValueError(f"Reverse: dims has {flags.size} entries for a tensor of rank {x.ndim}")
    return np.flip(x, axis=tuple(np.flatnonzero(flags))) if flags.any() else x


@register("ReverseV2")
def reverse_v2(x, axis):
    axes = [_axis(a, x.ndim, "ReverseV2") for a in _ints(axis)]
    if len(set(axes)) != len(axes):
        raise ValueError(f"ReverseV2: an axis is specified more than once in {_ints(axis)}")
    return np.flip(x, axis=tuple(axes)) if axes else x


# -- gather -----------------------------------------------------------------------------------------

def _check_bounds(indices: np.ndarray, limit: int, op: str) -> None:
    bad = (indices < 0) | (indices >= limit)
    if bad.any():
        position = np.unravel_index(int(np.argmax(bad)), indices.shape)
        raise ValueError(f"{op}: indices[{', '.join(map(str, position))}] = {indices[position]} "
                         f"is not in [0, {limit})")


@register("Gather")
def gather(params, indices):
    """The legacy op gathers along axis 0."""
    return gather_v2(params, indices, 0)


@register("GatherV2")
def gather_v2(params, indices, axis, *, batch_dims: int = 0):
    """The first `batch_dims` dimensions of params and indices pair up; within each batch entry
    indices pick slices of params along `axis`:
    out.shape = params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]."""
    indices = np.asarray(indices)
    axis = _axis(_scalar(axis), params.ndim, "GatherV2")
    batch = batch_dims + indices.ndim if batch_dims < 0 else batch_dims
    if not 0 <= batch <= min(axis, indices.ndim) or params.shape[:batch] != indices.shape[:batch]:
        raise ValueError(f"GatherV2: batch_dims {batch_dims} does not fit params {list(params.shape)}, "
                         f"indices {list(indices.shape)} and axis {axis}")
    _check_bounds(indices, params.shape[axis], "GatherV2")
    if batch == 0:
        return np.take(params, indices, axis=axis)
    batch_shape, outer = params.shape[:batch], params.shape[batch:axis]
    batch_size = int(np.prod(batch_shape, dtype=np.int64))
    # (B, N, outer..., inner...) indexed by (B, K) -> (B, K, outer..., inner...)
    flat_params = np.moveaxis(params.reshape((batch_size,) + params.shape[batch:]), 1 + len(outer), 1)
    flat_indices = indices.reshape(batch_size, -1)
    picked = flat_params[np.arange(batch_size)[:, None], flat_indices]
    picked = np.moveaxis(picked, 1, 1 + len(outer))
    return picked.reshape(batch_shape + outer + indices.shape[batch:] + params.shape[axis + 1:])


def _flat_positions(indices: np.ndarray, shape: tuple[int, ...], op: str) -> np.ndarray:
    """Row-major offsets of the index tuples in indices[..., :K] into shape[:K]; checks bounds."""
    depth = indices.shape[-1]
    if depth > len(shape):
        raise ValueError(f"{op}: index depth {depth} exceeds rank {len(shape)}")
    tuples = indices.reshape(int(np.prod(indices.shape[:-1], dtype=np.int64)), depth).astype(np.int64)
    bad = ((tuples < 0) | (tuples >= np.array(shape[:depth], dtype=np.int64))).any(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{op}: indices[{row}] = {tuples[row].tolist()} does not index into shape {list(shape)}")
    strides = np.cumprod((shape[1:depth] + (1,))[::-1], dtype=np.int64)[::-1]
    return tuples @ strides if depth else np.zeros(len(tuples), np.int64)


def _block_view(shape: tuple[int, ...], depth: int) -> tuple[int, int]:
    """A tensor as (index tuples, slice size) for scatter/gather over its first `depth` dims."""
    return int(np.prod(shape[:depth], dtype=np.int64)), int(np.prod(shape[depth:], dtype=np.int64))


@register("GatherNd")
def gather_nd(params, indices):
    """indices[..., K] address slices params[i0, ..., iK-1]: out.shape = indices.shape[:-1] + params.shape[K:]."""
    indices = np.asarray(indices)
    depth = indices.shape[-1]
    positions = _flat_positions(indices, params.shape, "GatherNd")
    picked = params.reshape(_block_view(params.shape, depth))[positions]
    return picked.reshape(indices.shape[:-1] + params.shape[depth:])


@register("ScatterNd")
def scatter_nd(indices, updates, shape):
    """Updates at repeated indices are summed."""
    shape = tuple(_ints(shape))
    out = np.zeros(shape, dtype=updates.dtype)
    return _scatter(out, indices, updates, accumulate=True, op="ScatterNd")


@register("TensorScatterUpdate")
def tensor_scatter_update(tensor, indices, updates):
    """At repeated indices the last update wins, as on TensorFlow's CPU."""
    return _scatter(tensor.copy(), indices, updates, accumulate=False, op="TensorScatterUpdate")


def _scatter(out: np.ndarray, indices: np.ndarray, updates: np.ndarray, accumulate: bool, op: str) -> np.ndarray:
    indices = np.asarray(indices)
    depth = indices.shape[-1]
    expected = indices.shape[:-1] + out.shape[depth:]
    if updates.shape != expected:
        raise ValueError(f"{op}: updates have shape {list(updates.shape)}, expected {list(expected)}")
    positions = _flat_positions(indices, out.shape, op)
    if len(positions) and (depth == 0 or out.size == 0):
        raise ValueError(f"{op}: indices and updates specified for empty output shape")
    blocks = out.reshape(_block_view(out.shape, depth))
    rows = updates.reshape(len(positions), blocks.shape[1])
    if accumulate:
        (np.logical_or if out.dtype == bool else np.add).at(blocks, positions, rows)
    else:
        blocks[positions] = rows
    return blocks.reshape(out.shape)


@register("SparseToDense")
def sparse_to_dense(sparse_indices, output_shape, sparse_values, default_value, *, validate_indices: bool = True):
    """sparse_indices is 0-D/1-D (indices into a vector) or [N, rank]; sparse_values is [N] or one
    scalar for all. With validate_indices, indices must be sorted and unique, as TensorFlow demands."""
    shape = tuple(_ints(output_shape))
    indices = np.asarray(sparse_indices)
    indices = indices.reshape(-1, 1) if indices.ndim < 2 else indices
    count = indices.shape[0]
    if indices.shape[1] != len(shape):
        raise ValueError(f"SparseToDense: indices of depth {indices.shape[1]} for output rank {len(shape)}")
    if sparse_values.ndim and sparse_values.shape != (count,):
        raise ValueError(f"SparseToDense: {sparse_values.shape[0]} values for {count} indices")
    positions = _flat_positions(indices, shape, "SparseToDense")
    if validate_indices and count > 1:
        steps = np.diff(positions)
        if (steps <= 0).any():
            row = int(np.argmax(steps <= 0)) + 1
            problem = "is repeated" if steps[row - 1] == 0 else "is out of order"
            raise ValueError(f"SparseToDense: indices[{row}] = {indices[row].tolist()} {problem}")
    out = np.full(int(np.prod(shape, dtype=np.int64)), default_value.reshape(()), dtype=sparse_values.dtype)
    out[positions] = sparse_values
    return out.reshape(shape)
