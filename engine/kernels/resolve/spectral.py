"""Arguments of the spectral family: the rank check and fft_length, shared by the CPU and GL kernels."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.kernels.resolve.values import first_int


def check_rank(shape: Sequence[int]) -> None:
    if len(shape) < 1:
        raise ValueError(f"Input must have rank of at least 1 but got: {list(shape)}")


def fft_length(fft_length_values, shape: Sequence[int], needed: Callable[[int], int]) -> int:
    """fft_length, once the innermost axis of `shape` holds at least the needed(fft_length) values it
    reads (as TensorFlow, a longer axis is cropped and a shorter one refused)."""
    check_rank(shape)
    length = first_int(fft_length_values)
    if length <= 0:
        raise ValueError(f"fft_length must be positive, got {length}")
    if shape[-1] < needed(length):
        raise ValueError(f"Input dimension {len(shape) - 1} must have length of at least {needed(length)} but got: "
                         f"{shape[-1]}")
    return length


def rfft_length(fft_length_values, shape: Sequence[int]) -> int:
    """RFFT's fft_length: it reads that many real values."""
    return fft_length(fft_length_values, shape, lambda n: n)


def irfft_length(fft_length_values, shape: Sequence[int]) -> int:
    """IRFFT's fft_length: it reads the fft_length // 2 + 1 non-negative frequencies."""
    return fft_length(fft_length_values, shape, lambda n: n // 2 + 1)
