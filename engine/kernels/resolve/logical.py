"""Arguments of the logical family: TF1 Select's condition."""
from __future__ import annotations

from collections.abc import Sequence

Shape = Sequence[int]


def select_condition_shape(condition_shape: Shape, then_shape: Shape, else_shape: Shape) -> tuple[int, ...]:
    """TF1 Select: `then` and `else` share one shape; the condition is a scalar, that same shape, or
    (for `then` of rank >= 2) a vector choosing whole rows. Returns the shape the condition takes
    to broadcast against `then` (a row vector becomes (rows, 1, ...))."""
    condition_shape, then_shape = tuple(condition_shape), tuple(then_shape)
    if then_shape != tuple(else_shape):
        raise ValueError(f"'then' and 'else' must have the same shape, got {then_shape} and {tuple(else_shape)}")
    if len(condition_shape) == 1 and len(then_shape) > 1:
        if condition_shape[0] != then_shape[0]:
            raise ValueError(f"a vector condition of {condition_shape[0]} must match the first dim of {then_shape}")
        return (condition_shape[0],) + (1,) * (len(then_shape) - 1)
    if condition_shape and condition_shape != then_shape:
        raise ValueError(f"condition shape {condition_shape} must match {then_shape}")
    return condition_shape
