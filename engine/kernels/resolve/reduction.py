"""Arguments of the reduction family: ArgMax/ArgMin's axis and Bincount's size and values.
(Reduction axes themselves: values.reduction_axes.)"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.kernels.resolve.values import checked_size, reduction_axes


def arg_axis(dimension, shape: Sequence[int]) -> int:
    """The one axis ArgMax / ArgMin reduce; it must not be empty."""
    (axis,) = reduction_axes(dimension, len(shape))
    if shape[axis] == 0:
        raise ValueError(f"Reduction axis {axis} is empty in shape {list(shape)}")
    return axis


def check_bincount(size: int, values: np.ndarray | None) -> None:
    """Bincount's size is non-negative, and so are its values (checked when given; None: not read)."""
    if size < 0:
        raise ValueError(f"size ({size}) must be non-negative")
    if values is not None and np.any(values < 0):
        raise ValueError("Input arr must be non-negative!")


def segment_sum_shape(data_shape: Sequence[int], ids_shape: Sequence[int], num_segments: int) -> tuple[int, ...]:
    """UnsortedSegmentSum's output shape: num_segments rows of data's dims past the ids'."""
    if num_segments < 0:
        raise ValueError(f"Input num_segments == {num_segments} must not be negative.")
    if tuple(data_shape[:len(ids_shape)]) != tuple(ids_shape):
        raise ValueError(f"data.shape = {list(data_shape)} does not start with segment_ids.shape = "
                         f"{list(ids_shape)}")
    return checked_size("UnsortedSegmentSum's output", (num_segments, *data_shape[len(ids_shape):]))


def check_segment_ids(ids: np.ndarray, num_segments: int) -> None:
    """Ids at or past num_segments are TensorFlow's error; negative ones are dropped."""
    flat = np.asarray(ids).reshape(-1)
    beyond = np.flatnonzero(flat >= num_segments)
    if beyond.size:
        raise ValueError(f"segment_ids[{beyond[0]}] = {flat[beyond[0]]} is out of range [0, {num_segments})")
