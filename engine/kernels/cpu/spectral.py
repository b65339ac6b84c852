"""Spectral ops (op_list/spectral.json): 1-D FFTs over the innermost axis, as TensorFlow.

numpy transforms in double precision; results are rounded to complex64 / float32. RFFT and IRFFT
crop a longer innermost axis to what fft_length needs and, as TensorFlow, reject a shorter one.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import first_int

KERNELS = KernelTable()


def _check_rank(x: np.ndarray) -> None:
    if x.ndim < 1:
        raise ValueError(f"Input must have rank of at least 1 but got: {list(x.shape)}")


def _fft_length(fft_length: np.ndarray, x: np.ndarray, needed: Callable[[int], int]) -> int:
    """fft_length, once x's innermost axis holds at least the needed(fft_length) values it reads."""
    length = first_int(fft_length)
    if length <= 0:
        raise ValueError(f"fft_length must be positive, got {length}")
    if x.shape[-1] < needed(length):
        raise ValueError(f"Input dimension {x.ndim - 1} must have length of at least {needed(length)} but got: "
                         f"{x.shape[-1]}")
    return length


@KERNELS.define("FFT")
def fft(x):
    _check_rank(x)
    if x.shape[-1] == 0:
        return x.astype(np.complex64)
    return np.fft.fft(x, axis=-1).astype(np.complex64)


@KERNELS.define("IFFT")
def ifft(x):
    _check_rank(x)
    if x.shape[-1] == 0:
        return x.astype(np.complex64)
    return np.fft.ifft(x, axis=-1).astype(np.complex64)


@KERNELS.define("RFFT")
def rfft(x, fft_length):
    """The fft_length // 2 + 1 non-negative frequencies of a real signal."""
    _check_rank(x)
    return np.fft.rfft(x, n=_fft_length(fft_length, x, lambda n: n), axis=-1).astype(np.complex64)


@KERNELS.define("IRFFT")
def irfft(x, fft_length):
    """The real signal of length fft_length whose spectrum's first fft_length // 2 + 1 bins are x."""
    _check_rank(x)
    return np.fft.irfft(x, n=_fft_length(fft_length, x, lambda n: n // 2 + 1), axis=-1).astype(np.float32)
