"""Slice and join ops (op_list/slice_join.json): concat, gather, slicing, stacking, splitting, scatter.

Index and shape inputs arrive as int32 arrays. Out-of-range indices raise ValueError, as TensorFlow's
CPU kernels reject them rather than clamp (TF.js's GPU behaviour).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.slice_join import (
    check_bounds, check_scatter_output, check_sparse_order, check_sparse_shapes, concat_axis, flat_positions,
    gather_batch_dims, reverse_axes, reverse_dims, scatter_depth, slice_counts, split_sizes, split_v_sizes,
    strided_slice_ranges, tile_multiples,
)
from engine.kernels.resolve.values import checked_size, first_int, int_list, normalize_axis

KERNELS = KernelTable()


# -- joining ----------------------------------------------------------------------------------------

@KERNELS.define("ConcatV2")
def concat_v2(*values_and_axis):
    """Inputs are the tensors, then the axis."""
    return _concat(values_and_axis[:-1], first_int(values_and_axis[-1]), "ConcatV2")


@KERNELS.define("Concat")
def concat(axis, *values):
    """The legacy op takes the axis first."""
    return _concat(values, first_int(axis), "Concat")


def _concat(values, axis: int, op: str) -> np.ndarray:
    if not values:
        raise ValueError(f"{op} needs at least one tensor to join")
    return np.concatenate(values, axis=concat_axis(axis, values[0].ndim, op))


@KERNELS.define("Pack")
def pack(*values, axis: int = 0):
    if not values:
        raise ValueError("Pack needs at least one tensor to stack")
    rank = values[0].ndim + 1
    return np.stack(values, axis=normalize_axis(axis, rank, "Pack"))


@KERNELS.define("Unpack")
def unpack(value, *, axis: int = 0):
    return list(np.moveaxis(value, normalize_axis(axis, value.ndim, "Unpack"), 0))


@KERNELS.define("Tile")
def tile(x, multiples):
    multiples = tile_multiples(int_list(multiples), x.ndim)
    checked_size("Tile's output", [d * m for d, m in zip(x.shape, multiples)])
    return np.tile(x, multiples)


# -- splitting --------------------------------------------------------------------------------------

@KERNELS.define("Split")
def split(axis, value, *, num_split: int):
    axis = normalize_axis(first_int(axis), value.ndim, "Split")
    split_sizes(num_split, value.shape[axis], axis)
    size = value.shape[axis] // num_split
    return _pieces(value, axis, [size] * num_split)


@KERNELS.define("SplitV")
def split_v(value, size_splits, axis):
    """One size may be -1: it takes what the others leave."""
    axis = normalize_axis(first_int(axis), value.ndim, "SplitV")
    sizes = split_v_sizes(int_list(size_splits), value.shape[axis], axis)
    return _pieces(value, axis, sizes)


def _pieces(value: np.ndarray, axis: int, sizes: list[int]) -> list[np.ndarray]:
    """Views of consecutive pieces of these sizes along axis (np.split's, at a third of its cost)."""
    before, pieces, start = (slice(None),) * axis, [], 0
    for size in sizes:
        pieces.append(value[(*before, slice(start, start + size))])
        start += size
    return pieces


# -- slicing ----------------------------------------------------------------------------------------

@KERNELS.define("Slice")
def slice_(x, begin, size):
    """A size of -1 takes everything from begin to the end of that dimension."""
    starts = int_list(begin)
    counts = slice_counts(starts, int_list(size), x.shape)
    return x[tuple(slice(start, start + count) for start, count in zip(starts, counts))]


@KERNELS.define("StridedSlice")
def strided_slice(x, begin, end, strides, *, begin_mask: int = 0, end_mask: int = 0, ellipsis_mask: int = 0,
                  new_axis_mask: int = 0, shrink_axis_mask: int = 0):
    """TensorFlow's full slice spec, resolved to one range per input dimension (resolve.slice_join);
    the sliced block is reshaped to drop shrunk axes and insert new ones."""
    index, out_shape = _strided_index(x.shape, tuple(int_list(begin)), tuple(int_list(end)), tuple(int_list(strides)),
                                      begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask)
    return x[index].reshape(out_shape)


@lru_cache(maxsize=4096)
def _strided_index(shape: tuple[int, ...], begin: tuple[int, ...], end: tuple[int, ...], strides: tuple[int, ...],
                   *masks: int) -> tuple[tuple[slice, ...], tuple[int, ...]]:
    """StridedSlice's numpy index and result shape, worked out once per distinct spec: a model slices
    the same way on every call, and resolving the spec cost more than the slicing."""
    starts, sizes, steps, out_shape = strided_slice_ranges(shape, list(begin), list(end), list(strides), *masks)
    index = []
    for start, size, stride in zip(starts, sizes, steps):
        stop = start + size * stride
        index.append(slice(start, stop if stop >= 0 else None, stride) if size else slice(0, 0))
    return tuple(index), tuple(out_shape)


@KERNELS.define("Reverse")
def reverse(x, dims):
    """The legacy op names the reversed axes by a bool per dimension."""
    axes = reverse_dims(dims, x.ndim)
    return np.flip(x, axis=tuple(axes)) if axes else x


@KERNELS.define("ReverseV2")
def reverse_v2(x, axis):
    axes = reverse_axes(int_list(axis), x.ndim)
    return np.flip(x, axis=tuple(axes)) if axes else x


# -- gather -----------------------------------------------------------------------------------------

@KERNELS.define("Gather")
def gather(params, indices):
    """The legacy op gathers along axis 0."""
    return gather_v2(params, indices, 0)


@KERNELS.define("GatherV2")
def gather_v2(params, indices, axis, *, batch_dims: int = 0):
    """The first `batch_dims` dimensions of params and indices pair up; within each batch entry
    indices pick slices of params along `axis`:
    out.shape = params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]."""
    indices = np.asarray(indices)
    axis = normalize_axis(first_int(axis), params.ndim, "GatherV2")
    batch = gather_batch_dims(batch_dims, params.shape, indices.shape, axis)
    check_bounds(indices, params.shape[axis], "GatherV2")
    if batch == 0:
        if params.flags.c_contiguous:
            return np.take(params, indices, axis=axis)
        # np.take copies a strided view whole before it picks (50 us for a transposed 12804x4)
        return params[(slice(None),) * axis + (indices,)]
    batch_shape, outer = params.shape[:batch], params.shape[batch:axis]
    batch_size = int(np.prod(batch_shape, dtype=np.int64))
    # (B, N, outer..., inner...) indexed by (B, K) -> (B, K, outer..., inner...)
    flat_params = np.moveaxis(params.reshape((batch_size,) + params.shape[batch:]), 1 + len(outer), 1)
    flat_indices = indices.reshape(batch_size, -1)
    picked = flat_params[np.arange(batch_size)[:, None], flat_indices]
    picked = np.moveaxis(picked, 1, 1 + len(outer))
    return picked.reshape(batch_shape + outer + indices.shape[batch:] + params.shape[axis + 1:])


def _block_view(shape: tuple[int, ...], depth: int) -> tuple[int, int]:
    """A tensor as (index tuples, slice size) for scatter/gather over its first `depth` dims."""
    return int(np.prod(shape[:depth], dtype=np.int64)), int(np.prod(shape[depth:], dtype=np.int64))


@KERNELS.define("GatherNd")
def gather_nd(params, indices):
    """indices[..., K] address slices params[i0, ..., iK-1]: out.shape = indices.shape[:-1] + params.shape[K:]."""
    indices = np.asarray(indices)
    positions = flat_positions(indices, params.shape, "GatherNd")
    depth = indices.shape[-1]
    picked = params.reshape(_block_view(params.shape, depth))[positions]
    return picked.reshape(indices.shape[:-1] + params.shape[depth:])


@KERNELS.define("ScatterNd")
def scatter_nd(indices, updates, shape):
    """Updates at repeated indices are summed."""
    shape = tuple(int_list(shape))
    out = np.zeros(shape, dtype=updates.dtype)
    return _scatter(out, indices, updates, accumulate=True, op="ScatterNd")


@KERNELS.define("TensorScatterUpdate")
def tensor_scatter_update(tensor, indices, updates):
    """At repeated indices the last update wins, as on TensorFlow's CPU."""
    return _scatter(tensor.copy(), indices, updates, accumulate=False, op="TensorScatterUpdate")


def _scatter(out: np.ndarray, indices: np.ndarray, updates: np.ndarray, accumulate: bool, op: str) -> np.ndarray:
    indices = np.asarray(indices)
    depth = scatter_depth(op, indices.shape, updates.shape, out.shape)
    positions = flat_positions(indices, out.shape, op)
    check_scatter_output(op, len(positions), depth, out.size)
    blocks = out.reshape(_block_view(out.shape, depth))
    rows = updates.reshape(len(positions), blocks.shape[1])
    if accumulate:
        (np.logical_or if out.dtype == bool else np.add).at(blocks, positions, rows)
    else:
        blocks[positions] = rows
    return blocks.reshape(out.shape)


@KERNELS.define("SparseToDense")
def sparse_to_dense(sparse_indices, output_shape, sparse_values, default_value, *, validate_indices: bool = True):
    """sparse_indices is 0-D/1-D (indices into a vector) or [N, rank]; sparse_values is [N] or one
    scalar for all. With validate_indices, indices must be sorted and unique, as TensorFlow demands."""
    shape = tuple(int_list(output_shape))
    indices = np.asarray(sparse_indices)
    indices = indices.reshape(-1, 1) if indices.ndim < 2 else indices
    count = indices.shape[0]
    check_sparse_shapes(indices.shape[1], len(shape), sparse_values.shape, count)
    positions = flat_positions(indices, shape, "SparseToDense")
    if validate_indices and count > 1:
        check_sparse_order(indices, positions)
    out = np.full(int(np.prod(shape, dtype=np.int64)), default_value.reshape(()), dtype=sparse_values.dtype)
    out[positions] = sparse_values
    return out.reshape(shape)
