"""Arguments of the slice/join family: concat and split axes and sizes, Slice and StridedSlice
ranges, reverse axes, and the index checks of gather, scatter and SparseToDense.

Out-of-range indices raise ValueError, as TensorFlow's CPU kernels reject them rather than clamp.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.kernels.resolve.values import normalize_axis

Shape = Sequence[int]

# -- joining and splitting --------------------------------------------------------------------------


def concat_axis(axis: int, rank: int, op: str) -> int:
    """The axis ConcatV2 / Concat join inputs of rank `rank` along; scalars don't concatenate."""
    if rank == 0:
        raise ValueError(f"{op}: cannot concatenate scalars")
    return normalize_axis(axis, rank, op)


def tile_multiples(multiples: list[int], rank: int) -> list[int]:
    """Tile's multiples: one non-negative count per dimension."""
    if len(multiples) != rank or any(r < 0 for r in multiples):
        raise ValueError(f"Tile: multiples {multiples} must be {rank} non-negative counts")
    return multiples


def split_sizes(num_split: int, dim: int, axis: int) -> list[int]:
    """Split's sizes: `num_split` equal parts of dimension `axis` (of size `dim`)."""
    if num_split <= 0 or dim % num_split:
        raise ValueError(f"Split: {num_split} splits do not evenly divide dimension {axis} "
                         f"(size {dim})")
    return [dim // num_split] * num_split


def split_v_sizes(size_splits: list[int], dim: int, axis: int) -> list[int]:
    """SplitV's sizes; one may be -1: it takes what the others leave of dimension `axis` (size `dim`)."""
    sizes = list(size_splits)
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"SplitV: bad size_splits {sizes}: at most one -1 and no other negatives")
    if unknown:
        sizes[unknown[0]] = dim - sum(s for s in sizes if s != -1)
    if sum(sizes) != dim or min(sizes, default=0) < 0:
        raise ValueError(f"SplitV: size_splits {sizes} do not sum to dimension {axis} (size {dim})")
    return sizes


# -- slicing ----------------------------------------------------------------------------------------

def slice_counts(starts: list[int], sizes: list[int], shape: Shape) -> list[int]:
    """Slice's element count per dimension; a size of -1 takes everything from begin to the end."""
    rank = len(shape)
    if len(starts) != rank or len(sizes) != rank:
        raise ValueError(f"Slice: begin {starts} and size {sizes} must have {rank} entries")
    counts = []
    for i, (start, count, dim) in enumerate(zip(starts, sizes, shape)):
        count = dim - start if count == -1 else count
        if not 0 <= start <= dim or not 0 <= count <= dim - start:
            raise ValueError(f"Slice: begin[{i}] = {start}, size[{i}] = {sizes[i]} do not fit dimension "
                             f"{i} of shape {list(shape)}")
        counts.append(count)
    return counts


NEW_AXIS = -1


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


def strided_slice_ranges(shape: Shape, begin: list[int], end: list[int], strides: list[int], begin_mask: int,
                         end_mask: int, ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int
                         ) -> tuple[list[int], list[int], list[int], tuple[int, ...]]:
    """TensorFlow's full slice spec (tensorflow/core/util/strided_slice_op.cc): the sparse spec, with
    its ellipsis and new axes, expands to one range per input dimension; each range is canonicalized
    (negative indices, clamping, masks). Returns per input dimension the first index, element count
    and stride, and the output shape (shrunk axes dropped, new ones inserted)."""
    dense, layout = dense_slice_spec(len(shape), begin, end, strides, begin_mask, end_mask, ellipsis_mask,
                                     new_axis_mask, shrink_axis_mask)
    starts, sizes, steps = [], [], []
    for dim_index, (dim, spec) in enumerate(zip(shape, dense)):
        start, size, stride = canonical_range(dim_index, dim, *spec)
        starts.append(start)
        sizes.append(size)
        steps.append(stride)
    return starts, sizes, steps, tuple(1 if d == NEW_AXIS else sizes[d] for d in layout)


def dense_slice_spec(rank: int, begin: list[int], end: list[int], strides: list[int], begin_mask: int,
                     end_mask: int, ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int):
    """Returns, per input dimension, (begin, end, stride, begin masked, end masked, shrink), and the
    output's layout: for each output dimension the input dimension it comes from, or NEW_AXIS."""
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
            layout.append(NEW_AXIS)
        else:
            if len(dense) == rank:
                raise ValueError(f"StridedSlice: index out of range using input dim {rank}; "
                                 f"input has only {rank} dims")
            shrink = _bit(shrink_axis_mask, i)
            if not shrink:
                layout.append(len(dense))
            dense.append((begin[i], end[i], strides[i], _bit(begin_mask, i), _bit(end_mask, i), shrink))
    return dense, layout


def canonical_range(dim_index: int, dim: int, begin: int, end: int, stride: int, begin_masked: bool,
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


def reverse_dims(dims, rank: int) -> list[int]:
    """The legacy Reverse's axes, named by a bool per dimension."""
    flags = np.asarray(dims, dtype=bool).reshape(-1)
    if flags.size != rank:
        raise ValueError(f"Reverse: dims has {flags.size} entries for a tensor of rank {rank}")
    return [int(a) for a in np.flatnonzero(flags)]


def reverse_axes(axis: list[int], rank: int) -> list[int]:
    """ReverseV2's axes, non-negative; each at most once."""
    axes = [normalize_axis(a, rank, "ReverseV2") for a in axis]
    if len(set(axes)) != len(axes):
        raise ValueError(f"ReverseV2: an axis is specified more than once in {axis}")
    return axes


# -- gather and scatter -----------------------------------------------------------------------------

def gather_batch_dims(batch_dims: int, params_shape: Shape, indices_shape: Shape, axis: int) -> int:
    """GatherV2's batch_dims as a non-negative count: the leading dims params and indices share."""
    batch = batch_dims + len(indices_shape) if batch_dims < 0 else batch_dims
    if not 0 <= batch <= min(axis, len(indices_shape)) or \
            tuple(params_shape[:batch]) != tuple(indices_shape[:batch]):
        raise ValueError(f"GatherV2: batch_dims {batch_dims} does not fit params {list(params_shape)}, "
                         f"indices {list(indices_shape)} and axis {axis}")
    return batch


def check_bounds(indices: np.ndarray, limit: int, op: str) -> None:
    """Every index in [0, limit)."""
    check_int_indices(indices, op)
    if not indices.size or (indices.min() >= 0 and indices.max() < limit):
        return
    bad = (indices < 0) | (indices >= limit)
    if bad.any():
        position = np.unravel_index(int(np.argmax(bad)), indices.shape)
        raise ValueError(f"{op}: indices[{', '.join(map(str, position))}] = {indices[position]} "
                         f"is not in [0, {limit})")


def check_int_indices(indices: np.ndarray, op: str) -> None:
    if indices.dtype.kind not in "iu":
        raise ValueError(f"{op}: indices must be integers, got {indices.dtype}")


def check_index_depth(depth: int, rank: int, op: str) -> None:
    """Index tuples of `depth` components address the first dims of a tensor of rank `rank`."""
    if depth > rank:
        raise ValueError(f"{op}: index depth {depth} exceeds rank {rank}")


def flat_positions(indices: np.ndarray, shape: tuple[int, ...], op: str) -> np.ndarray:
    """Row-major offsets of the index tuples in indices[..., :K] into shape[:K]; checks bounds."""
    check_int_indices(indices, op)
    if indices.ndim == 0:
        raise ValueError(f"{op}: indices must be at least a vector, got a scalar")
    depth = indices.shape[-1]
    check_index_depth(depth, len(shape), op)
    tuples = indices.reshape(int(np.prod(indices.shape[:-1], dtype=np.int64)), depth).astype(np.int64)
    bad = ((tuples < 0) | (tuples >= np.array(shape[:depth], dtype=np.int64))).any(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{op}: indices[{row}] = {tuples[row].tolist()} does not index into shape {list(shape)}")
    strides = np.cumprod((tuple(shape[1:depth]) + (1,))[::-1], dtype=np.int64)[::-1]
    return tuples @ strides if depth else np.zeros(len(tuples), np.int64)


def scatter_depth(op: str, indices_shape: Shape, updates_shape: Shape, out_shape: Shape) -> int:
    """The index depth of ScatterNd / TensorScatterUpdate, once the updates' shape is checked:
    indices.shape[:-1] + out_shape[depth:]."""
    if not indices_shape:
        raise ValueError(f"{op}: indices must be at least a vector, got a scalar")
    depth = indices_shape[-1]
    expected = tuple(indices_shape[:-1]) + tuple(out_shape[depth:])
    if tuple(updates_shape) != expected:
        raise ValueError(f"{op}: updates have shape {list(updates_shape)}, expected {list(expected)}")
    return depth


def check_scatter_output(op: str, count: int, depth: int, size: int) -> None:
    """Updates need an output with elements to land in."""
    if count and (depth == 0 or size == 0):
        raise ValueError(f"{op}: indices and updates specified for empty output shape")


def check_sparse_shapes(depth: int, rank: int, values_shape: Shape, count: int) -> None:
    """SparseToDense: index tuples of the output's rank, and one value per index (or one for all)."""
    if depth != rank:
        raise ValueError(f"SparseToDense: indices of depth {depth} for output rank {rank}")
    if len(values_shape) and tuple(values_shape) != (count,):
        raise ValueError(f"SparseToDense: {values_shape[0]} values for {count} indices")


def check_sparse_order(tuples: np.ndarray, positions: np.ndarray) -> None:
    """TensorFlow's validate_indices: index tuples sorted (row-major) and unique."""
    steps = np.diff(positions)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        problem = "is repeated" if steps[row - 1] == 0 else "is out of order"
        raise ValueError(f"SparseToDense: indices[{row}] = {tuples[row].tolist()} {problem}")
