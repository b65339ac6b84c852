"""_FusedSeparableConv2D (engine/kernels/cpu/separable.py), the node engine/graph/fuse_separable.py
makes of a depthwise convolution and the 1x1 convolution that alone reads it: TensorFlow's values,
the same bits on one thread as on OpenMP's and from a process's first call on, and the two
convolutions' own kernels where the pair does not fit the compiled one."""
import numpy as np
import pytest

from engine.kernels.cpu import convolution, openmp, separable
from tests.kernels.harness import run_engine

OP = "_FusedSeparableConv2D"  # as the load-time pass writes it into graphs
RNG = np.random.default_rng(13)


def _attrs(dw_epilogue: bool, strides=1, padding="SAME", dilations=1) -> dict:
    """The node's attrs as the load-time pass writes them: a depthwise convolution (with bias and
    Relu6 when `dw_epilogue`) read by a 1x1 one with bias and Relu."""
    return {"num_depthwise_inputs": 3 if dw_epilogue else 2, "depthwise_strides": [1, strides, strides, 1],
            "depthwise_padding": padding, "depthwise_dilations": [1, dilations, dilations, 1],
            "depthwise_fused_ops": ["BiasAdd", "Relu6"] if dw_epilogue else [], "fused_ops": ["BiasAdd", "Relu"]}


def _fused_call(x, dw, pw, pw_bias, dw_bias=None, strides=1, padding="SAME", dilations=1):
    dw_args = [] if dw_bias is None else [dw_bias]
    return separable.fused_separable_conv2d(x, dw, *dw_args, pw, pw_bias,
                                            **_attrs(dw_bias is not None, strides, padding, dilations))


CASES = [((1, 40, 36, 48), 1, "SAME", 1, True), ((2, 33, 20, 64), 2, "SAME", 1, False),
         ((1, 23, 31, 16), 2, "VALID", 1, True), ((1, 18, 18, 8), 1, "SAME", 2, False),
         ((1, 5, 5, 128), 1, "SAME", 1, False)]


@pytest.mark.tf
@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_fused_kernel_matches_tensorflow_with_the_same_bits_either_way(case):
    import tensorflow as tf
    shape, stride, padding, dilation, dw_epilogue = case
    channels = shape[3]
    x = RNG.normal(size=shape).astype(np.float32)
    dw, dw_bias = RNG.normal(size=(3, 3, channels, 1)).astype(np.float32), RNG.normal(size=channels).astype(np.float32)
    pw, pw_bias = RNG.normal(size=(1, 1, channels, 24)).astype(np.float32), RNG.normal(size=24).astype(np.float32)
    args = (x, dw, pw, pw_bias, dw_bias if dw_epilogue else None, stride, padding, dilation)
    calls = []
    monkey = pytest.MonkeyPatch()
    run = openmp.separable
    monkey.setattr(openmp, "separable", lambda *a: calls.append(openmp.active()) or run(*a))
    try:
        one_thread = _fused_call(*args)
        with openmp.threads():
            threaded = _fused_call(*args)
    finally:
        monkey.undo()
    inputs = [x, dw, *([dw_bias] if dw_epilogue else []), pw, pw_bias]
    (through_the_backend,) = run_engine("cpu", OP, inputs, _attrs(dw_epilogue, stride, padding, dilation))
    np.testing.assert_array_equal(through_the_backend, one_thread)
    if openmp.available():
        assert calls[0] is False and len(calls) == 2  # the compiled kernel ran both times, first on one thread
    np.testing.assert_array_equal(threaded, one_thread)
    hidden = tf.nn.depthwise_conv2d(x, dw, [1, stride, stride, 1], padding, dilations=[dilation, dilation])
    if dw_epilogue:
        hidden = tf.nn.relu6(hidden + dw_bias)
    want = tf.nn.relu(tf.nn.conv2d(hidden, pw, 1, "VALID") + pw_bias).numpy()
    np.testing.assert_allclose(one_thread, want, rtol=1e-4, atol=1e-4)


@pytest.mark.tf
def test_what_does_not_fit_runs_unfused():
    """A filter that turns out not to be 1x1, or float64 values: the two convolutions' own kernels."""
    import tensorflow as tf
    x = RNG.normal(size=(1, 9, 9, 4)).astype(np.float32)
    dw = RNG.normal(size=(3, 3, 4, 1)).astype(np.float32)
    wide, bias = RNG.normal(size=(3, 3, 4, 6)).astype(np.float32), RNG.normal(size=6).astype(np.float32)
    got = _fused_call(x, dw, wide, bias)
    hidden = tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME")
    np.testing.assert_allclose(got, tf.nn.relu(tf.nn.conv2d(hidden, wide, 1, "VALID") + bias), rtol=1e-4, atol=1e-4)
    x64 = x.astype(np.float64)
    pw = RNG.normal(size=(1, 1, 4, 6))
    got = _fused_call(x64, dw.astype(np.float64), pw, bias.astype(np.float64))
    hidden = tf.nn.depthwise_conv2d(x64, dw.astype(np.float64), [1, 1, 1, 1], "SAME")
    np.testing.assert_allclose(got, tf.nn.relu(tf.nn.conv2d(hidden, pw, 1, "VALID") + bias), rtol=1e-10)
    no_channels = separable.fused_separable_conv2d(x, dw, np.zeros((1, 1, 4, 0), np.float32), np.zeros(0, np.float32),
                                                   num_depthwise_inputs=2, depthwise_strides=[1, 1, 1, 1],
                                                   depthwise_padding="SAME", fused_ops=["BiasAdd"])
    assert no_channels.shape == (1, 9, 9, 0)
    with pytest.raises(ValueError, match="num_depthwise_inputs"):
        separable.fused_separable_conv2d(x, dw, num_depthwise_inputs=2, depthwise_strides=[1, 1, 1, 1],
                                         depthwise_padding="SAME")


def test_the_first_call_takes_the_compiled_path_too(monkeypatch):
    """The fused kernel loads the OpenMP kernels itself (as windowed convolutions do): a process's
    first call must not run unfused and give other bits than the calls after it."""
    if not openmp.available():
        pytest.skip("no numba threading layer or OpenBLAS cblas here")
    x = RNG.normal(size=(1, 24, 20, 16)).astype(np.float32)
    dw = RNG.normal(size=(3, 3, 16, 1)).astype(np.float32)
    pw, bias = RNG.normal(size=(1, 1, 16, 32)).astype(np.float32), RNG.normal(size=32).astype(np.float32)
    monkeypatch.setattr(openmp, "_kernels", None)  # as in a fresh process
    calls = []
    run = openmp.separable
    monkeypatch.setattr(openmp, "separable", lambda *a: calls.append(1) or run(*a))
    first, second = _fused_call(x, dw, pw, bias), _fused_call(x, dw, pw, bias)
    assert len(calls) == 2 and openmp.loaded()
    np.testing.assert_array_equal(first, second)
    monkeypatch.setattr(openmp, "_kernels", None)  # likewise a 1x1 convolution with its epilogue alone
    pixels = RNG.normal(size=(1, 32, 32, 16)).astype(np.float32)  # 2^19 multiply-adds: past MIN_MACS

    def pointwise():
        return convolution.fused_conv2d(pixels, pw, bias, strides=[1, 1, 1, 1], padding="VALID",
                                        fused_ops=["BiasAdd", "Relu6"])
    first = pointwise()
    assert openmp.loaded()
    second = pointwise()
    np.testing.assert_array_equal(first, second)
