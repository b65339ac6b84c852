"""Generic input parsing: scalars, int lists, shapes and axes."""
from __future__ import annotations

import numpy as np


def int_list(values) -> list[int]:
    """A shape-like input (an axis, sizes, a permutation) as a flat list of Python ints."""
    return [int(v) for v in np.asarray(values).reshape(-1)]


def first_int(value) -> int:
    """The first value of a scalar-like input (a scalar or a one-element vector) as an int."""
    return int(np.asarray(value).reshape(-1)[0])


def scalar(value):
    """The one value of a scalar input (any shape of one element); more or fewer is an error."""
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"expected a scalar, got shape {list(array.shape)}")
    return array.reshape(())[()]


def parse_shape(shape) -> tuple[int, ...]:
    """A shape input (Fill's dims, the random ops' shape) as a tuple of non-negative dims."""
    dims = tuple(int(d) for d in np.asarray(shape).reshape(-1))
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {list(dims)} has a negative dimension")
    return dims


def normalize_axis(axis: int, rank: int, op: str) -> int:
    """`axis` in [-rank, rank) as a non-negative axis."""
    if not -rank <= axis < rank:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def reduction_axes(axis, ndim: int) -> tuple[int, ...]:
    """The axis input as sorted non-negative axes; TensorFlow rejects out-of-range and repeated ones."""
    axes = [int(a) for a in np.asarray(axis).reshape(-1)]
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"Invalid reduction dimension {a} for input with {ndim} dimensions")
    normalized = [a % ndim for a in axes]
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"Axes contains duplicate dimension: {axes}")
    return tuple(sorted(normalized))
