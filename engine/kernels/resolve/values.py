"""Generic input parsing: scalars, int lists, shapes and axes."""
from __future__ import annotations

import numpy as np

from engine.io.limits import check_tensor_size

STORAGE_ITEMSIZE = 4  # float32 and int32 storage; what a value-sized output is checked at


def int_list(values) -> list[int]:
    """A shape-like input (an axis, sizes, a permutation) as a flat list of Python ints."""
    flat = np.asarray(values).reshape(-1)
    return flat.tolist() if flat.dtype.kind in "iu" else [int(v) for v in flat]


def first_int(value) -> int:
    """The first value of a scalar-like input (a scalar or a one-element vector) as an int."""
    values = np.asarray(value).reshape(-1)
    if not values.size:
        raise ValueError("expected a scalar, got an empty tensor")
    return int(values[0])


def scalar(value):
    """The one value of a scalar input (any shape of one element); more or fewer is an error."""
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"expected a scalar, got shape {list(array.shape)}")
    return array.reshape(())[()]


def parse_shape(shape) -> tuple[int, ...]:
    """A shape input (Fill's dims, the random ops' shape) as a tuple of non-negative dims, refused
    (ResourceLimitError) past engine.io.Limits before anything is allocated."""
    dims = tuple(int(d) for d in np.asarray(shape).reshape(-1))
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {list(dims)} has a negative dimension")
    return checked_size("an output", dims)


def checked_size(what: str, shape) -> tuple[int, ...]:
    """`shape`, for a tensor about to be allocated from input values (a fill, a tile, a padding):
    ResourceLimitError instead of asking numpy for more than engine.io.Limits allows."""
    shape = tuple(int(d) for d in shape)
    check_tensor_size(what, shape, STORAGE_ITEMSIZE)
    return shape


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
