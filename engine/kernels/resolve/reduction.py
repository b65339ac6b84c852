"""Arguments of the reduction family: ArgMax/ArgMin's axis and Bincount's size and values.
(Reduction axes themselves: values.reduction_axes.)"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.kernels.resolve.values import reduction_axes


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
