"""Arguments of the matrix family: MatrixBandPart's bounds, Diag's output shape."""
from __future__ import annotations

from collections.abc import Sequence

from engine.kernels.resolve.values import checked_size


def check_band_bounds(lower: int, upper: int, shape: Sequence[int]) -> None:
    """MatrixBandPart keeps num_lower subdiagonals and num_upper superdiagonals; a negative bound
    keeps that whole triangle, a larger one than the matrix has is an error."""
    if len(shape) < 2:
        raise ValueError(f"MatrixBandPart needs matrices, got shape {list(shape)}")
    if lower > shape[-2] or upper > shape[-1]:
        raise ValueError(f"num_lower ({lower}) / num_upper ({upper}) must be negative or at most the number "
                         f"of rows / columns of {list(shape)}")


def diag_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Diag's output shape, shape * 2 (refused past engine.io.Limits: it grows as the square of the input)."""
    if len(shape) < 1:
        raise ValueError(f"Input must be at least rank 1, got {len(shape)}")
    return checked_size("Diag's output", tuple(shape) * 2)
