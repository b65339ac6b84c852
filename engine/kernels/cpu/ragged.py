"""Ragged-tensor ops (op_list/ragged.json), as TensorFlow. Invalid input raises ValueError with
TensorFlow's message.

A ragged tensor is its flat values and, per ragged dimension, a row partition: row splits (row i
is values[splits[i]:splits[i + 1]]) or, for RaggedTensorToTensor, value row ids (the row of each
value) after a first-dimension size.
"""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import checked_size

KERNELS = KernelTable()


def ranges(starts: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """The concatenation of range(start, limit) for each pair, as one int64 array."""
    starts, limits = np.asarray(starts, np.int64), np.asarray(limits, np.int64)
    lengths = np.maximum(limits - starts, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


# -- RaggedRange --------------------------------------------------------------------------------

@KERNELS.define("RaggedRange")
def ragged_range(starts, limits, deltas, *, Tsplits: str = "int64"):
    """One row per (start, limit, delta) (scalars broadcast): the range from start to limit by delta."""
    for name, array in (("starts", starts), ("limits", limits), ("deltas", deltas)):
        if array.ndim > 1:
            raise ValueError(f"{name} must be a scalar or vector")
    sizes = {a.shape[0] for a in (starts, limits, deltas) if a.ndim == 1}
    if len(sizes) > 1:
        raise ValueError("starts, limits, and deltas must have the same shape")
    rows = sizes.pop() if sizes else 1
    starts, limits, deltas = (np.broadcast_to(a, (rows,)) for a in (starts, limits, deltas))
    if np.any(deltas == 0):
        raise ValueError("Requires delta != 0")
    empty = ((deltas > 0) & (limits < starts)) | ((deltas < 0) & (limits > starts))
    if starts.dtype.kind == "f":  # in the values' precision, as TensorFlow
        with np.errstate(all="ignore"):
            lengths = np.ceil(np.abs((limits - starts) / deltas)).astype(np.float64)
        if not np.all(np.isfinite(lengths[~empty])):
            raise ValueError("Requires ((limit - start) / delta) to be finite")
    else:
        span, step = np.abs(limits.astype(np.int64) - starts), np.abs(deltas.astype(np.int64))
        lengths = (span + step - 1) // step
    lengths = np.where(empty, 0, lengths)
    if np.any(lengths > 2**31 - 1):
        raise ValueError(f"Requires ((limit - start) / delta) <= {2**31 - 1}")
    lengths = lengths.astype(np.int64)
    splits = np.concatenate([[0], np.cumsum(lengths)]).astype(Tsplits)
    checked_size("the ranges", (int(splits[-1]),))
    # Each row accumulates its delta step by step in the values' dtype, as TensorFlow does.
    steps = np.repeat(deltas, lengths)
    steps[np.cumsum(lengths)[lengths > 0] - lengths[lengths > 0]] = starts[lengths > 0]
    values = np.zeros(0, starts.dtype) if not steps.size else \
        np.concatenate([np.cumsum(steps[start:end], dtype=starts.dtype) for start, end in zip(splits[:-1], splits[1:])
                        if end > start])
    return splits, values.astype(starts.dtype)


# -- RaggedGather -------------------------------------------------------------------------------

def _check_nested_splits(nested_splits: list[np.ndarray], value_count: int) -> None:
    for level, splits in enumerate(nested_splits):
        limit = value_count if level == len(nested_splits) - 1 else nested_splits[level + 1].size
        if splits.size == 0:
            raise ValueError("Ragged splits may not be empty")
        if splits[0] < 0:
            raise ValueError("Ragged splits must be non-negative")
        if splits[-1] > limit:
            raise ValueError("Ragged splits must not point past values")
        if np.any(splits[1:] < splits[:-1]):
            raise ValueError("Ragged splits must be sorted")


@KERNELS.define("RaggedGather")
def ragged_gather(*inputs, OUTPUT_RAGGED_RANK: int):
    """params[indices] for a ragged params (nested splits, dense values) and dense indices: the
    gathered rows as a ragged tensor whose outer dimensions are the indices' own."""
    if len(inputs) < 3:
        raise ValueError("RaggedGather takes params_nested_splits, params_dense_values and indices")
    *nested_splits, dense_values, indices = inputs
    if any(s.ndim != 1 for s in nested_splits):
        raise ValueError("Split tensors must be vectors")
    if dense_values.ndim == 0:
        raise ValueError("params.rank must be nonzero")
    if OUTPUT_RAGGED_RANK != indices.ndim - 1 + len(nested_splits):
        raise ValueError(f"OUTPUT_RAGGED_RANK is {OUTPUT_RAGGED_RANK}, but indices of rank {indices.ndim} into "
                         f"params of ragged rank {len(nested_splits)} give {indices.ndim - 1 + len(nested_splits)}")
    row_count = nested_splits[0].size - 1
    flat = indices.reshape(-1).astype(np.int64)
    bad = np.flatnonzero((flat < 0) | (flat >= row_count))
    if bad.size:
        where = ",".join(str(i) for i in np.unravel_index(bad[0], indices.shape))
        raise ValueError(f"indices[{where}] = {flat[bad[0]]} is not in [0, {row_count})")
    splits64 = [s.astype(np.int64) for s in nested_splits]
    _check_nested_splits(splits64, dense_values.shape[0])
    out_splits = []
    rows = 1
    for axis in range(indices.ndim - 1):  # the indices' own outer dimensions are uniform
        rows *= indices.shape[axis]
        out_splits.append(np.arange(rows + 1, dtype=np.int64) * indices.shape[axis + 1])
    starts, limits = flat, flat + 1
    for splits in splits64:
        chosen = ranges(starts, limits)
        out_splits.append(np.concatenate([[0], np.cumsum(splits[chosen + 1] - splits[chosen])]))
        starts, limits = splits[starts], splits[limits]
    split_dtype = nested_splits[0].dtype
    return (*(s.astype(split_dtype) for s in out_splits), dense_values[ranges(starts, limits)])


# -- RaggedTensorToTensor -----------------------------------------------------------------------

PARTITION_TYPES = ("FIRST_DIM_SIZE", "VALUE_ROWIDS", "ROW_SPLITS")


def _partial_shape(shape: np.ndarray) -> list[int] | None:
    """The `shape` input: None for the unknown rank (a scalar -1), -1 for an unknown dimension."""
    if shape.ndim == 0:
        if int(shape) == -1:
            return None
        raise ValueError("The only valid scalar shape tensor is the fully unknown shape specified as -1.")
    dims = [int(d) for d in shape.reshape(-1)]
    if any(d < -1 for d in dims):
        raise ValueError(f"Dimension {min(dims)} must be >= -1")
    return dims


def _rows_and_columns(kind: str, partition: np.ndarray, parents: int) -> tuple[np.ndarray, np.ndarray]:
    """For each element one level down: its row (an index into the parents) and its column."""
    partition = partition.astype(np.int64).reshape(-1)
    if kind == "ROW_SPLITS":
        if partition.size - 1 > parents:
            raise ValueError(f"Row partition size is greater than output size: {partition.size - 1} > {parents}")
        if partition.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        if partition[0] != 0 or np.any(partition[1:] < partition[:-1]):
            raise ValueError("Invalid row split size.")
        lengths = np.diff(partition)
        rows = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
        return rows, np.arange(rows.size, dtype=np.int64) - partition[rows]
    if kind == "VALUE_ROWIDS":
        bad = np.flatnonzero((partition < 0) | (partition >= parents))
        if bad.size:
            raise ValueError(f"Got value_rowids[{bad[0]}]={partition[bad[0]]}, which is not in [0, {parents})")
        return partition, _run_columns(partition)
    raise ValueError(f"Cannot handle partition type {kind}")


def _run_columns(row_ids: np.ndarray) -> np.ndarray:
    """Each value's position in its run of equal row ids (TensorFlow counts runs, not rows)."""
    if not row_ids.size:
        return np.zeros(0, np.int64)
    run_starts = np.flatnonzero(np.r_[True, row_ids[1:] != row_ids[:-1]])
    run_lengths = np.diff(np.r_[run_starts, row_ids.size])
    return np.arange(row_ids.size, dtype=np.int64) - np.repeat(run_starts, run_lengths)


def _max_width(kind: str, partition: np.ndarray) -> int:
    partition = partition.astype(np.int64).reshape(-1)
    if kind == "ROW_SPLITS":
        return int(np.diff(partition).max()) if partition.size > 1 else 0
    columns = _run_columns(partition)
    return int(columns.max()) + 1 if columns.size else 0


def _output_shape(shape: list[int] | None, values: np.ndarray, first_dim: int, kinds: list[str],
                  partitions: list[np.ndarray]) -> list[int]:
    rank = len(kinds) + values.ndim
    out = [-1] * rank if shape is None else list(shape)
    if len(out) != rank:
        raise ValueError(f"rt_input.shape and shape={shape} are incompatible: rt_input.rank = {rank} but "
                         f"shape.rank = {len(out)}")
    for axis in range(1, values.ndim):
        out_axis = len(kinds) + axis
        if out[out_axis] == -1:
            out[out_axis] = values.shape[axis]
        elif out[out_axis] != values.shape[axis]:
            raise ValueError(f"rt_input.shape and shape={shape} are incompatible: rt_input.shape[{out_axis}] = "
                             f"{values.shape[axis]} but shape[{out_axis}] = {out[out_axis]}")
    if out[0] < 0:
        out[0] = first_dim
    for level, (kind, partition) in enumerate(zip(kinds, partitions)):
        if out[level + 1] < 0:
            out[level + 1] = _max_width(kind, partition)
    return out


def _check_default_shape(default: tuple[int, ...], values: tuple[int, ...]) -> None:
    """TensorFlow's check: the default's rank below the values', its dimensions (from the left) 1 or
    the values' inner dimensions."""
    problem = f"default_value.shape={list(default)} and rt_input.flat_values.shape={list(values)} are incompatible"
    if len(default) >= len(values):
        raise ValueError(f"{problem}: default_value.rank = {len(default)} must be less than "
                         f"rt_input.flat_values.rank = {len(values)}")
    for axis, size in enumerate(default):
        if size not in (1, values[axis + 1]):
            raise ValueError(f"{problem}: default_value.shape[{axis - len(default)}] = {size} but "
                             f"rt_input.flat_values.shape[{axis - len(default)}] = {values[axis + 1]}")


@KERNELS.define("RaggedTensorToTensor")
def ragged_tensor_to_tensor(shape, values, default_value, *row_partition_tensors, row_partition_types):
    """The ragged tensor (values, row partitions) as a dense tensor of `shape` (dimensions that are
    -1 take the longest row): rows longer than the shape are cut, shorter ones padded with
    default_value."""
    kinds = [k.decode() if isinstance(k, bytes) else str(k) for k in row_partition_types]
    unknown = [k for k in kinds if k not in PARTITION_TYPES]
    if unknown:
        raise ValueError(f"Unknown row partition type {unknown[0]!r}; TF.js knows {', '.join(PARTITION_TYPES)}")
    if len(kinds) != len(row_partition_tensors):
        raise ValueError(f"{len(kinds)} row_partition_types for {len(row_partition_tensors)} row partition tensors")
    if not kinds:
        raise ValueError("No row_partition_types given.")
    if "FIRST_DIM_SIZE" in kinds[1:]:
        raise ValueError("FIRST_DIM_SIZE can only be the first row partition type")
    partitions = list(row_partition_tensors)
    if kinds[0] == "FIRST_DIM_SIZE":
        first_dim = int(partitions[0].reshape(-1)[0]) if partitions[0].size else -1
        kinds, partitions = kinds[1:], partitions[1:]
    elif kinds[0] == "ROW_SPLITS":
        if partitions[0].size == 0:
            raise ValueError("Invalid first partition input. Tensor requires at least one element.")
        first_dim = partitions[0].size - 1
    else:
        raise ValueError("Cannot handle VALUE_ROWIDS in first dimension.")
    if first_dim < 0:
        raise ValueError(f"the first dimension size must be >= 0, got {first_dim}")
    if values.ndim == 0:
        raise ValueError("values must have rank >= 1")
    element_shape = values.shape[1:]
    _check_default_shape(default_value.shape, values.shape)
    try:
        default = np.broadcast_to(default_value, element_shape)
    except ValueError:
        raise ValueError(f"default_value.shape={list(default_value.shape)} does not broadcast to the values' "
                         f"element shape {list(element_shape)}") from None
    out_shape = checked_size("the dense tensor",
                             _output_shape(_partial_shape(shape), values, first_dim, kinds, partitions))
    ragged_dims = out_shape[:len(kinds) + 1]
    # The flat output position of each element, level by level (-1: cut off by the shape).
    positions = np.where(np.arange(first_dim) < ragged_dims[0], np.arange(first_dim), -1).astype(np.int64)
    for level, (kind, partition) in enumerate(zip(kinds, partitions)):
        rows, columns = _rows_and_columns(kind, partition, positions.size)
        parent = positions[rows]
        width = ragged_dims[level + 1]
        positions = np.where((parent >= 0) & (columns < width), parent * width + columns, -1)
    if positions.size > values.shape[0]:
        raise ValueError(f"the row partitions describe {positions.size} values, but there are {values.shape[0]}")
    dense = np.empty((int(np.prod(ragged_dims, dtype=np.int64)),) + element_shape, values.dtype)
    dense[...] = default
    kept = positions >= 0
    dense[positions[kept]] = values[:positions.size][kept]
    return dense.reshape(out_shape)
