"""Spectral ops against tf.raw_ops: complex FFTs on the innermost axis, real FFTs cropping/padding to fft_length."""
import numpy as np
import pytest

from tests.kernels.harness import check, rand, run_engine

pytestmark = pytest.mark.tf

SHAPES = [(8,), (3, 16), (2, 3, 5), (1, 1), (4, 0), (0, 6)]


@pytest.mark.parametrize("op", ["FFT", "IFFT"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_complex_fft(backend, rng, op, shape):
    check(backend, op, [rand(rng, shape, "complex64")], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,fft_length", [((8,), 8), ((3, 16), 16), ((2, 3, 7), 7), ((4, 10), 6), ((2, 5), 1),
                                              ((0, 4), 4)], ids=str)
def test_rfft(backend, rng, shape, fft_length):
    check(backend, "RFFT", [rand(rng, shape), np.array([fft_length], np.int32)], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,fft_length", [((5,), 8), ((3, 9), 16), ((2, 3, 4), 7), ((4, 6), 6), ((4, 7), 8),
                                              ((2, 5), 1), ((0, 3), 4)], ids=str)
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
