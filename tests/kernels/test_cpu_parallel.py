"""The CPU kernels' helper threads (engine.kernels.cpu.parallel): chunked kernels compute what one
thread computes, errors reach the caller, nested and concurrent calls run their chunks themselves."""
import threading

import numpy as np
import pytest

from engine.kernels.cpu import convolution, openmp, parallel
from tests.kernels.harness import check, rand

pytestmark = pytest.mark.tf

CPU = "cpu"


@pytest.fixture(scope="module")
def two_threads():
    return parallel._Pool(max(1, parallel.thread_count() - 1))


@pytest.fixture
def split_everything(monkeypatch, two_threads):
    """Every kernel call splits its rows, whatever its size, over two threads at least, however
    little that gains on a busy machine; as where OpenMP's kernels are not loaded (with them, one
    thread is one chunk)."""
    monkeypatch.setattr(openmp, "loaded", lambda: False)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_WORK", 1)
    monkeypatch.setattr(parallel, "MIN_SPEEDUP", 0.0)
    monkeypatch.setattr(parallel, "_pool", two_threads)


@pytest.mark.parametrize("case", [
    ("FusedDepthwiseConv2dNative", (2, 11, 9, 8), (3, 3, 8, 1), 1),      # merged rows
    ("FusedDepthwiseConv2dNative", (1, 13, 12, 6), (3, 3, 6, 2), 2),     # phase planes, multiplier 2
    ("FusedDepthwiseConv2dNative", (1, 9, 10, 130), (3, 3, 130, 1), 2),  # per-pixel einsum
    ("_FusedConv2D", (2, 10, 7, 5), (1, 1, 5, 6), 1),                    # pointwise
    ("_FusedConv2D", (2, 12, 9, 3), (3, 3, 3, 4), 2),                    # im2col
], ids=str)
def test_chunked_fused_convolutions_match_tensorflow(split_everything, rng, case):
    op, x_shape, w_shape, stride = case
    channels = w_shape[2] * w_shape[3] if op.startswith("FusedDepthwise") else w_shape[3]
    x, w, bias = rand(rng, x_shape), rand(rng, w_shape), rand(rng, (channels,))
    attrs = {"strides": [1, stride, stride, 1], "padding": "SAME", "fused_ops": ["BiasAdd", "Relu6"]}
    got = check(CPU, op, [x, w, bias], attrs, reference=_reference(op, attrs), rtol=1e-4, atol=1e-5)
    with_one_thread = _single_threaded(op, [x, w, bias], attrs)
    if op.startswith("FusedDepthwise"):  # the same sums in the same order
        np.testing.assert_array_equal(got[0], with_one_thread)
    else:  # BLAS may block a product of fewer rows differently
        np.testing.assert_allclose(got[0], with_one_thread, rtol=1e-6, atol=1e-6)


def _reference(op, attrs):
    def reference(x, w, bias):
        import tensorflow as tf
        conv = tf.nn.depthwise_conv2d if op.startswith("FusedDepthwise") else tf.nn.conv2d
        return tf.nn.relu6(tf.nn.bias_add(conv(x, w, attrs["strides"], "SAME"), bias))
    return reference


def _single_threaded(op, inputs, attrs):
    kernel = convolution.fused_depthwise_conv2d if op.startswith("FusedDepthwise") else convolution.fused_conv2d
    saved = parallel._pool
    parallel._pool = parallel._Pool(0)
    try:
        return kernel(*inputs, **attrs)
    finally:
        parallel._pool = saved


def test_errors_reach_the_caller(split_everything):
    def chunk(start, stop):
        if start >= 2:
            raise ValueError("bad chunk")
    with pytest.raises(ValueError, match="bad chunk"):
        parallel.for_rows(8, 1 << 30, chunk)
    seen = []
    parallel.for_rows(8, 1 << 30, lambda start, stop: seen.extend(range(start, stop)))  # the pool still works
    assert sorted(seen) == list(range(8))


def test_nested_and_concurrent_calls_cover_every_row_once(split_everything):
    counts = np.zeros(64, int)
    lock = threading.Lock()

    def inner(start, stop):
        with lock:
            counts[start:stop] += 1

    def outer(start, stop):
        parallel.for_rows(stop - start, 1 << 30, lambda a, b: inner(start + a, start + b))

    threads = [threading.Thread(target=parallel.for_rows, args=(64, 1 << 30, outer)) for _ in range(3)]
    for thread in threads:
        thread.start()
    parallel.for_rows(64, 1 << 30, outer)
    for thread in threads:
        thread.join()
    assert (counts == 4).all()


def test_thread_count_setting(monkeypatch):
    monkeypatch.setenv("TFGL_CPU_THREADS", "3")
    assert parallel.thread_count() == 3
    monkeypatch.setenv("TFGL_CPU_THREADS", "0")
    assert parallel.thread_count() == 1
    monkeypatch.setenv("TFGL_CPU_THREADS", "many")
    with pytest.raises(ValueError, match="TFGL_CPU_THREADS"):
        parallel.thread_count()
