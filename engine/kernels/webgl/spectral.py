"""GL kernels of the spectral family: FFT, IFFT, RFFT and IRFFT over the innermost axis.

As TF.js's WebGL backend: a direct DFT, one fragment per output value summing over the whole axis,
the real and imaginary parts in programs of their own (shaders/spectral/). That is O(n^2) work, but
two draws and no transposes; the phase j * k mod n is kept as an exact integer, so the twiddles are
as accurate for long axes as for short ones. RFFT reads its real input alone (no zero imaginary
texture); IRFFT sums over the half spectrum it is given. An axis longer than the driver's loop
limit runs the CPU kernel.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.spectral import check_rank, irfft_length, rfft_length
from engine.kernels.webgl.common import empty, require_gl_dtypes, reshaped, view
from engine.tensors import Tensor
from engine.webgl.program import Program
from engine.webgl.textures import ComplexGLData

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

_LIBS = ("basic_math/lib_trig.glsl", "spectral/lib_twiddle.glsl")


def _rows(backend: WebGLBackend, x: Tensor) -> Tensor:
    """x as (batch, innermost axis)."""
    return view(backend, x, (math.prod(x.shape[:-1]), x.shape[-1]))


def _draw(backend: WebGLBackend, shader: str, inputs: list[Tensor], size: int, out_length: int,
          iterations: int, defines: dict | None = None) -> Tensor:
    """A (batch, out_length) float32 output of shaders/spectral/<shader>.glsl over transforms of `size`."""
    program = Program(shader, (*_LIBS, f"spectral/{shader}.glsl"), ("A", "B")[:len(inputs)], defines,
                      sizes={"DFT_SIZE": size}, loop_iterations=iterations, shape_uniforms=True)
    return backend.run_program(program, inputs, (inputs[0].shape[0], out_length), "float32")


def _dft(backend: WebGLBackend, parts: list[Tensor], size: int, out_length: int, inverse: bool,
         shape: tuple[int, ...]) -> Tensor:
    """The complex64 tensor of `shape` holding the first out_length bins of the DFTs of `parts` (the
    (batch, >= size) real and, unless a real signal, imaginary parts)."""
    re, im = (_draw(backend, "dft", parts, size, out_length, size,
                    {"INVERSE": inverse, "IMAGINARY": imaginary, "REAL_INPUT": len(parts) == 1})
              for imaginary in (False, True))
    data = ComplexGLData(re.device_data, im.device_data)
    data.retain()  # the complex tensor takes over both parts
    re.dispose()
    im.dispose()
    return Tensor(None, "complex64", shape, device=data)


def _complex_fft(backend: WebGLBackend, x: Tensor, inverse: bool) -> Tensor:
    check_rank(x.shape)
    if x.size == 0:
        return empty(x.shape, "complex64")
    n = x.shape[-1]
    parts = [_rows(backend, part) for part in backend.complex_parts(x)]
    return _dft(backend, parts, n, n, inverse, x.shape)


@KERNELS.define("FFT")
def fft(backend, x):
    return _complex_fft(backend, x, inverse=False)


@KERNELS.define("IFFT")
def ifft(backend, x):
    return _complex_fft(backend, x, inverse=True)


@KERNELS.define("RFFT")
def rfft(backend, x, fft_length):
    """The n // 2 + 1 non-negative frequencies of the first n = fft_length values of a real signal."""
    n = rfft_length(fft_length.numpy(), x.shape)
    require_gl_dtypes(x)
    out_shape = x.shape[:-1] + (n // 2 + 1,)
    if math.prod(out_shape) == 0:
        return empty(out_shape, "complex64")
    return _dft(backend, [_rows(backend, x)], n, n // 2 + 1, False, out_shape)


@KERNELS.define("IRFFT")
def irfft(backend, x, fft_length):
    """The real signal of length n = fft_length whose spectrum's non-negative frequencies are x's
    first n // 2 + 1 values."""
    n = irfft_length(fft_length.numpy(), x.shape)
    out_shape = x.shape[:-1] + (n,)
    if math.prod(out_shape) == 0:
        return empty(out_shape, "float32")
    parts = [_rows(backend, part) for part in backend.complex_parts(x)]
    return reshaped(_draw(backend, "irfft", parts, n, n, (n - 1) // 2), out_shape)
