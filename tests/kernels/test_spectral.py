"""Spectral ops against tf.raw_ops: complex FFTs on the innermost axis, real FFTs cropping/padding to fft_length.
On webgl they run on the GPU: radix-2 FFTs for power-of-two lengths, direct DFTs for others
(engine/kernels/webgl/spectral.py)."""
import numpy as np
import pytest

import engine

from tests.kernels.harness import check, rand, run_drawn, run_engine

pytestmark = pytest.mark.tf

# Axis lengths models use: 1, 2, odd and prime ones, others (direct DFTs on webgl), powers of two (FFTs
# there) up to 2048; batch dims; empty ones.
SHAPES = [(1,), (2,), (7,), (8,), (3, 16), (2, 64), (3, 256), (2, 2048), (2, 3, 5), (2, 300), (1, 1), (4, 0),
          (0, 6)]


@pytest.mark.parametrize("op", ["FFT", "IFFT"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_complex_fft(backend, rng, op, shape):
    check(backend, op, [rand(rng, shape, "complex64")], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,fft_length", [((8,), 8), ((3, 16), 16), ((2, 3, 7), 7), ((4, 10), 6), ((2, 5), 1),
                                              ((2, 2), 2), ((2, 256), 256), ((0, 4), 4)], ids=str)
def test_rfft(backend, rng, shape, fft_length):
    check(backend, "RFFT", [rand(rng, shape), np.array([fft_length], np.int32)], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,fft_length", [((5,), 8), ((3, 9), 16), ((2, 3, 4), 7), ((4, 6), 6), ((4, 7), 8),
                                              ((2, 5), 1), ((2, 2), 2), ((2, 129), 256), ((0, 3), 4)], ids=str)
def test_irfft(backend, rng, shape, fft_length):
    """Inputs longer than fft_length // 2 + 1 are cropped, and the imaginary parts of the DC (and
    Nyquist) bins are ignored, as TensorFlow does."""
    check(backend, "IRFFT", [rand(rng, shape, "complex64"), np.array([fft_length], np.int32)], rtol=1e-5, atol=1e-5)


def test_fft_round_trip(backend, rng):
    x = rand(rng, (3, 12), "complex64")
    spectrum = run_engine(backend, "FFT", [x])[0]
    np.testing.assert_allclose(run_engine(backend, "IFFT", [spectrum])[0], x, rtol=1e-5, atol=1e-5)
    real = rand(rng, (2, 9))
    half = run_engine(backend, "RFFT", [real, np.array([9], np.int32)])[0]
    np.testing.assert_allclose(run_engine(backend, "IRFFT", [half, np.array([9], np.int32)])[0], real, atol=1e-5)


def test_fft_rejects_scalars_and_short_inputs(backend):
    with pytest.raises(Exception, match="rank of at least 1"):
        run_engine(backend, "FFT", [np.complex64(1 + 2j)])
    with pytest.raises(Exception, match="at least 13"):
        run_engine(backend, "RFFT", [np.zeros((4, 10), np.float32), np.array([13], np.int32)])
    with pytest.raises(Exception, match="at least 7"):
        run_engine(backend, "IRFFT", [np.zeros((4, 3), np.complex64), np.array([12], np.int32)])


def _with_specials(rng, rows: int, n: int) -> np.ndarray:
    """Complex rows with a NaN, +Inf or -Inf in one real or imaginary part each."""
    x = rand(rng, (rows, n), "complex64")
    for row in range(rows):
        part = x.real if row % 2 else x.imag
        part[row, rng.integers(n)] = (np.nan, np.inf, -np.inf)[row % 3]
    return x


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
def test_ffts_of_non_finite_values(backend, rng, n):
    """NaN and infinities reach the outputs TensorFlow's FFTs carry them to, no others: the exact
    zeros of quarter-turn twiddles multiply nothing on the GPU. (Not for every length: where
    TensorFlow's mixed-radix passes multiply an infinity by a twiddle twice, or by an exact 0, as at
    6 or 16 values, an output that is infinite here may be NaN there.)"""
    x = _with_specials(rng, 12, n)
    length = np.array([n], np.int32)
    for op in ("FFT", "IFFT"):
        check(backend, op, [x], rtol=1e-5, atol=1e-5)
    check(backend, "RFFT", [np.ascontiguousarray(x.real), length], rtol=1e-5, atol=1e-5)
    check(backend, "IRFFT", [x[:, :n // 2 + 1], length], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op,inputs,programs", [
    ("FFT", [np.ones((2, 6), np.complex64)], 2), ("IFFT", [np.ones((2, 6), np.complex64)], 2),
    ("RFFT", [np.ones((2, 6), np.float32), np.array([6], np.int32)], 2),
    ("IRFFT", [np.ones((2, 4), np.complex64), np.array([6], np.int32)], 1),
    ("FFT", [np.ones((2, 8), np.complex64)], 6), ("IFFT", [np.ones((2, 8), np.complex64)], 6),
    ("RFFT", [np.ones((2, 8), np.float32), np.array([8], np.int32)], 6),
    ("IRFFT", [np.ones((2, 5), np.complex64), np.array([8], np.int32)], 5)])
def test_webgl_runs_the_gl_kernels(webgl, op, inputs, programs):
    """A direct DFT draws the real and imaginary parts once each (IRFFT: its real output); an FFT of
    8 values draws both parts in each of its 3 passes (IRFFT: only the real part in the last)."""
    assert run_drawn(op, inputs)[1] == programs


def test_axes_past_the_loop_limit_run_the_cpu_kernel(webgl, rng, monkeypatch):
    """A direct DFT's fragment sums over the whole axis: past the driver's loop limit the op runs
    numpy's FFT. Power-of-two axes run FFT passes whatever their length."""
    gl = engine.get_backend(webgl)
    monkeypatch.setattr(gl, "max_loop_iterations", 16)
    before = gl.stats.cpu_fallbacks.get("FFT", 0)
    x = rand(rng, (2, 17), "complex64")
    check(webgl, "FFT", [x], rtol=1e-5, atol=1e-5, allow_fallback=True)
    assert gl.stats.cpu_fallbacks.get("FFT", 0) == before + 1
    check(webgl, "FFT", [rand(rng, (2, 32), "complex64")], rtol=1e-5, atol=1e-5)  # FFT passes have no loops
