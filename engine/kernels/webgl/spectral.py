"""GL kernels of the spectral family: FFT, IFFT, RFFT and IRFFT over the innermost axis.

Power-of-two lengths run a radix-2 Stockham FFT: log2(n) passes of one butterfly per output value,
each pass a program for the real part and one for the imaginary part. Other lengths run a direct
DFT, as TF.js's WebGL backend does for all: one fragment per output value and part sums over the
whole axis, O(n^2) work (an axis longer than the driver's loop limit runs the CPU kernel). Either way
the twiddles come from the exact integer phase j * k mod n, and quarter turns are exact. RFFT reads
its real input alone (no zero imaginary texture) and computes only the n // 2 + 1 bins it returns;
IRFFT reads the half spectrum it is given as the conjugate-symmetric whole.
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


def _direct(backend: WebGLBackend, shader: str, inputs: list[Tensor], size: int, out_length: int,
            iterations: int, defines: dict | None = None) -> Tensor:
    """A (batch, out_length) float32 output of `shader` (a file under shaders/), which loops over the axis."""
    program = Program(shader, (*_LIBS, shader), ("A", "B")[:len(inputs)], defines,
                      sizes={"DFT_SIZE": size}, loop_iterations=iterations, shape_uniforms=True)
    return backend.run_program(program, inputs, (inputs[0].shape[0], out_length), "float32")


def _stockham(backend: WebGLBackend, parts: list[Tensor], size: int, out_length: int, inverse: bool,
              hermitian: bool = False, real_output: bool = False) -> list[Tensor]:
    """The parts of the first out_length bins of the FFTs of `parts` ((batch, >= size) real and, unless
    a real signal, imaginary parts; with `hermitian`, bins 0 .. size / 2 of a conjugate-symmetric
    spectrum); only the real part if `real_output`."""
    batch, current, span = parts[0].shape[0], parts, 1
    while span < size:
        first, last = span == 1, span * 2 == size
        defines = {"INVERSE": inverse, "SCALE": inverse and last, "REAL_INPUT": first and len(parts) == 1,
                   "HERMITIAN_INPUT": first and hermitian}
        outputs = [backend.run_program(Program("fft_pass", (*_LIBS, "spectral/fft_pass.glsl"),
                                               ("A", "B")[:len(current)], {**defines, "IMAGINARY": imaginary},
                                               sizes={"DFT_SIZE": size, "SPAN": span}, shape_uniforms=True),
                                       current, (batch, out_length if last else size), "float32")
                   for imaginary in ((False,) if last and real_output else (False, True))]
        if not first:
            for part in current:
                part.dispose()
        current, span = outputs, span * 2
    return current


def _is_power_of_two(n: int) -> bool:
    return n >= 2 and n & (n - 1) == 0


def _dft(backend: WebGLBackend, parts: list[Tensor], size: int, out_length: int, inverse: bool,
         shape: tuple[int, ...]) -> Tensor:
    """The complex64 tensor of `shape` holding the first out_length bins of the DFTs of `parts` (the
    (batch, >= size) real and, unless a real signal, imaginary parts)."""
    if _is_power_of_two(size):
        re, im = _stockham(backend, parts, size, out_length, inverse)
    else:
        re, im = (_direct(backend, "spectral/dft.glsl", parts, size, out_length, size,
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
    if _is_power_of_two(n):
        (signal,) = _stockham(backend, parts, n, n, inverse=True, hermitian=True, real_output=True)
    else:
        signal = _direct(backend, "spectral/irfft.glsl", parts, n, n, (n - 1) // 2)
    return reshaped(signal, out_shape)
