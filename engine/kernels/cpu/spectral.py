"""Spectral ops (op_list/spectral.json): 1-D FFTs over the innermost axis, as TensorFlow.

numpy transforms in double precision; results are rounded to complex64 / float32. RFFT and IRFFT
crop a longer innermost axis to what fft_length needs and, as TensorFlow, reject a shorter one.
"""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.spectral import check_rank, irfft_length, rfft_length

KERNELS = KernelTable()


@KERNELS.define("FFT")
def fft(x):
    check_rank(x.shape)
    if x.shape[-1] == 0:
        return x.astype(np.complex64)
    return np.fft.fft(x, axis=-1).astype(np.complex64)


@KERNELS.define("IFFT")
def ifft(x):
    check_rank(x.shape)
    if x.shape[-1] == 0:
        return x.astype(np.complex64)
    return np.fft.ifft(x, axis=-1).astype(np.complex64)


@KERNELS.define("RFFT")
def rfft(x, fft_length):
    """The fft_length // 2 + 1 non-negative frequencies of a real signal."""
    return np.fft.rfft(x, n=rfft_length(fft_length, x.shape), axis=-1).astype(np.complex64)


@KERNELS.define("IRFFT")
def irfft(x, fft_length):
    """The real signal of length fft_length whose spectrum's first fft_length // 2 + 1 bins are x."""
    return np.fft.irfft(x, n=irfft_length(fft_length, x.shape), axis=-1).astype(np.float32)
