"""The CPU kernels on OpenMP's threads (engine.kernels.cpu.openmp): inside threads() the products,
depthwise convolutions and epilogues run in blocks of rows on OpenMP's threads with the very bits of
the one-thread kernels; outside it, or in a forked child, everything runs on the calling thread."""
import multiprocessing

import numpy as np
import pytest

from engine.kernels.cpu import blas, compiled, convolution, elementwise_chain, image, openmp, parallel

needs_openmp = pytest.mark.skipif(not openmp.available(), reason="no numba threading layer or OpenBLAS cblas here")


class _Counting:
    """numba_parallel with its kernels counted."""

    def __init__(self, module):
        self.module, self.calls = module, []

    def __getattr__(self, name):
        kernel = getattr(self.module, name)

        def counted(*args):
            self.calls.append(name)
            return kernel(*args)
        return counted


@pytest.fixture
def counted(monkeypatch):
    kernels, sgemm, count = openmp._kernels
    spy = _Counting(kernels)
    monkeypatch.setattr(openmp, "_kernels", (spy, sgemm, max(count, 2)))
    monkeypatch.setattr(openmp, "MIN_WORK", 1)  # every depthwise convolution and epilogue in blocks
    return spy


@needs_openmp
@pytest.mark.parametrize("shape", [(1600, 128, 128), (400, 96, 576), (101, 960, 33), (3, 4096, 64)], ids=str)
def test_products_in_blocks_give_numpys_bits(rng, counted, shape):
    m, k, n = shape
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    with openmp.threads():
        assert blas._OPENBLAS[0]() == 1  # OpenBLAS's own threads would spin against OpenMP's
        got = openmp.matmul(a, b)
        out = np.empty((m, n), np.float32)
        assert openmp.matmul(a, b, out=out) is out
    assert counted.calls == ["products", "products"]
    want = np.matmul(a, b)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(out, want)


@needs_openmp
@pytest.mark.parametrize("shape", [(400, 128, 24), (1600, 128, 128), (100, 320, 1280)], ids=str)
def test_products_outside_threads_are_the_same_blocks_on_one_thread(rng, counted, shape):
    """OpenBLAS sums a 400x128 @ 128x24 product in another order than its two 200-row halves (its
    small-matrix kernels take the halves): one thread runs the very blocks the threads run."""
    m, k, n = shape
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    one_thread = openmp.matmul(a, b)
    with openmp.threads():
        blocks = openmp.matmul(a, b)
    assert counted.calls == ["products_on_one_thread", "products"]
    np.testing.assert_array_equal(blocks, one_thread)


@needs_openmp
def test_what_does_not_fit_runs_as_numpy(rng, counted):
    a = rng.standard_normal((300, 200)).astype(np.float32)
    with openmp.threads():
        cases = [(a, a.T.copy()), (a.T, a), (a.astype(np.float64), a.T.astype(np.float64)), (a[:4], a.T[:, :4].copy())]
        for x, y in cases:
            np.testing.assert_array_equal(openmp.matmul(x, y), np.matmul(x, y))  # strided, float64, tiny
    assert counted.calls == ["products"]  # only the first fits


@needs_openmp
@pytest.mark.parametrize("case", [((1, 40, 36, 48), (3, 3, 48, 1), 1), ((2, 33, 20, 64), (5, 5, 64, 1), 2)], ids=str)
def test_convolutions_and_epilogues_in_blocks_give_the_same_bits(rng, counted, case):
    """Depthwise, pointwise and windowed convolutions (the windowed one with the same sgemms on one
    thread as on OpenMP's), each with its fused epilogue."""
    x_shape, w_shape, stride = case
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    bias = rng.standard_normal(w_shape[2]).astype(np.float32)
    attrs = {"strides": [1, stride, stride, 1], "padding": "SAME", "fused_ops": ["BiasAdd", "Relu6"]}
    pointwise = (rng.standard_normal((1, 1, x_shape[3], 64)).astype(np.float32),
                 rng.standard_normal(64).astype(np.float32))
    windowed = (rng.standard_normal((*w_shape[:2], x_shape[3], 7)).astype(np.float32),
                rng.standard_normal(7).astype(np.float32))
    pointwise_attrs = {**attrs, "strides": [1, 1, 1, 1]}

    def convolutions():
        return [convolution.fused_depthwise_conv2d(x, w, bias, **attrs),
                convolution.fused_conv2d(x, *pointwise, **pointwise_attrs),
                convolution.fused_conv2d(x, *windowed, **attrs)]
    one_thread = convolutions()
    assert {"pointwise_on_one_thread", "convolve_on_one_thread"} <= set(counted.calls)
    assert not {"products", "pointwise", "convolve", "depthwise", "epilogue"} & set(counted.calls)
    counted.calls.clear()
    with openmp.threads():
        blocks = convolutions()
    assert {"depthwise", "pointwise", "convolve"} <= set(counted.calls)
    for got, want in zip(blocks, one_thread):
        np.testing.assert_array_equal(got, want)
    # the 1x1 convolution's epilogue in the product's pass changes no bit of product, bias, Relu6
    product = openmp.matmul(x.reshape(-1, x_shape[3]), pointwise[0].reshape(x_shape[3], -1))
    np.testing.assert_array_equal(blocks[1].reshape(product.shape), np.clip(product + pointwise[1], 0, 6))


@needs_openmp
@pytest.mark.parametrize("shape", [(1, 128, 128, 16), (2, 33, 20, 72)], ids=str)
def test_an_elementwise_chain_in_blocks_gives_the_same_bits(rng, counted, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    bias = rng.standard_normal(shape[-1]).astype(np.float32)
    hard_swish_less_bias = ["AddV2 0 1", "Relu6 4", "Mul 0 5", "Mul 6 2", "Sub 7 3"]
    args = (x, np.float32(3), np.float32(1 / 6), bias)
    one_thread = elementwise_chain.fused_elementwise(*args, program=hard_swish_less_bias)
    with openmp.threads():
        blocks = elementwise_chain.fused_elementwise(*args, program=hard_swish_less_bias)
    assert counted.calls == ["chain"]
    np.testing.assert_array_equal(blocks, one_thread)


def _child(queue):
    queue.put((openmp.available(), openmp.active()))


@needs_openmp
def test_a_forked_child_runs_on_its_calling_thread():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    with openmp.threads():
        child = context.Process(target=_child, args=(queue,))
        child.start()
        child.join(60)
    assert queue.get(timeout=5) == (False, False)
    assert openmp.available() and compiled.ENABLED


@needs_openmp
@pytest.mark.parametrize("sizes", [((2, 20, 30, 24), (57, 41)), ((1, 96, 96, 3), (48, 48))], ids=str)
def test_a_bilinear_resize_in_blocks_gives_the_same_bits(rng, counted, sizes):
    shape, size = sizes
    images = rng.standard_normal(shape).astype(np.float32)
    one_thread = image.resize_bilinear(images, np.array(size, np.int32), half_pixel_centers=True)
    with openmp.threads():
        blocks = image.resize_bilinear(images, np.array(size, np.int32), half_pixel_centers=True)
    assert counted.calls == ["resize_bilinear"]
    np.testing.assert_array_equal(blocks, one_thread)


@needs_openmp
@pytest.mark.parametrize("case", [
    ((2, 21, 17, 6), (3, 3, 6, 40), [1, 1, 1, 1], [1, 1, 1, 1], "SAME"),
    ((1, 30, 26, 8), (5, 3, 8, 33), [1, 2, 3, 1], [1, 1, 1, 1], "SAME"),
    ((1, 33, 29, 16), (3, 3, 16, 24), [1, 1, 1, 1], [1, 2, 3, 1], "SAME"),
    ((2, 40, 40, 3), (7, 7, 3, 64), [1, 2, 2, 1], [1, 1, 1, 1], "VALID"),
], ids=str)
def test_a_windowed_convolution_gathered_in_chunks_matches_numpys_im2col(rng, monkeypatch, case):
    """numba_parallel.convolve's gather (padding, strides, dilations, batches) against the numpy path
    it stands in for; the sgemms' row blocks differ, so to float rounding."""
    x_shape, w_shape, strides, dilations, padding = case
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    bias = rng.standard_normal(w_shape[3]).astype(np.float32)
    attrs = {"strides": strides, "dilations": dilations, "padding": padding, "fused_ops": ["BiasAdd", "Relu"]}
    gathered = convolution.fused_conv2d(x, w, bias, **attrs)
    with openmp.threads():
        on_threads = convolution.fused_conv2d(x, w, bias, **attrs)
    monkeypatch.setattr(openmp, "convolve", lambda *args: False)
    im2col = convolution.fused_conv2d(x, w, bias, **attrs)
    np.testing.assert_array_equal(on_threads, gathered)
    np.testing.assert_allclose(gathered, im2col, rtol=1e-5, atol=1e-5)


@needs_openmp
def test_once_openmp_is_loaded_one_thread_is_one_chunk(rng):
    """The helper threads' chunks would cut a 1x1 convolution's product into other sgemms than the
    OpenMP blocks (other bits): once OpenMP's kernels are loaded, rows run whole on the calling thread."""
    chunks = []
    parallel.for_rows(400, 1 << 30, lambda start, stop: chunks.append((start, stop)))
    assert chunks == [(0, 400)]
    x = rng.standard_normal((1, 40, 40, 64)).astype(np.float32)
    w = rng.standard_normal((1, 1, 64, 24)).astype(np.float32)
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID"}
    with openmp.threads():
        on_threads = convolution.conv2d(x, w, **attrs)
    for _ in range(3):
        np.testing.assert_array_equal(convolution.conv2d(x, w, **attrs), on_threads)
