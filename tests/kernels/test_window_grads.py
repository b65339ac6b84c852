"""The window gradients (engine/kernels/{cpu,webgl}/window_grads.py) against tf.raw_ops: the
convolutions' filter and input gradients and the pools' gradients, over window geometries, strides,
dilations, paddings and channels-first layouts."""
import numpy as np
import pytest

from tests.kernels.harness import assert_close, assert_rejects, check, conv_attrs, i32, rand, run_engine, run_tf

pytestmark = pytest.mark.tf


CONVS = [((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), (1, 1), "SAME", None), ((1, 8, 8, 2), (3, 2, 2, 3), (2, 2), (1, 1),
         "VALID", None), ((2, 6, 7, 3), (2, 3, 3, 2), (1, 2), (2, 1), "SAME", None),
         ((1, 5, 5, 2), (2, 3, 2, 3), (1, 2), (1, 1), "EXPLICIT", [(1, 0), (2, 1)])]


def _out_shape(x_shape, window, strides, dilations, padding, explicit, channels):
    sizes = []
    for n, k, s, d, pads in zip(x_shape[1:3], window, strides, dilations, explicit or [(0, 0)] * 2):
        extent = (k - 1) * d + 1
        sizes.append(-(-n // s) if padding == "SAME" else (n + sum(pads) - extent) // s + 1)
    return (x_shape[0], *sizes, channels)


@pytest.mark.parametrize("case", CONVS, ids=range(len(CONVS)))
def test_conv2d_backprop_filter(backend, rng, case):
    x_shape, w_shape, strides, dilations, padding, explicit = case
    dy = rand(rng, _out_shape(x_shape, w_shape[:2], strides, dilations, padding, explicit, w_shape[3]))
    check(backend, "Conv2DBackpropFilter", [rand(rng, x_shape), i32(w_shape), dy],
          conv_attrs(strides, dilations, padding, explicit), rtol=1e-4, atol=1e-5)


# TensorFlow's CPU depthwise backprop kernels ignore dilations (tf.nn.depthwise_conv2d dilates by
# space-to-batch around them): undilated cases only.
@pytest.mark.parametrize("case", CONVS[:2] + [CONVS[2][:3] + ((1, 1),) + CONVS[2][4:]], ids=range(3))
def test_depthwise_backprops(backend, rng, case):
    x_shape, (kh, kw, channels, _), strides, dilations, padding, _ = case
    w_shape = (kh, kw, x_shape[3], 2)
    attrs = conv_attrs(strides, dilations, padding, None)
    dy = rand(rng, _out_shape(x_shape, (kh, kw), strides, dilations, padding, None, x_shape[3] * 2))
    check(backend, "DepthwiseConv2dNativeBackpropFilter", [rand(rng, x_shape), i32(w_shape), dy], attrs,
          rtol=1e-4, atol=1e-5)
    check(backend, "DepthwiseConv2dNativeBackpropInput", [i32(x_shape), rand(rng, w_shape), dy], attrs,
          rtol=1e-4, atol=1e-5)


def test_conv3d_backprop_filter(backend, rng):
    attrs = {"strides": [1, 1, 2, 1, 1], "dilations": [1, 1, 1, 1, 1], "padding": "SAME"}
    check(backend, "Conv3DBackpropFilterV2", [rand(rng, (1, 3, 5, 4, 2)), i32((2, 3, 2, 2, 3)),
                                              rand(rng, (1, 3, 3, 4, 3))], attrs, rtol=1e-4, atol=1e-5)


POOLS = [((2, 7, 6, 3), 2, 2, "VALID"), ((2, 7, 6, 3), 3, 2, "SAME"), ((1, 5, 5, 2), 3, 1, "SAME")]


@pytest.mark.parametrize("case", POOLS, ids=range(len(POOLS)))
def test_pool_grads(backend, rng, case):
    shape, k, s, padding = case
    attrs = {"ksize": [1, k, k, 1], "strides": [1, s, s, 1], "padding": padding}
    x = rand(rng, shape)
    y = run_tf("MaxPool", [x], attrs)[0]
    dy = rand(rng, y.shape)
    check(backend, "MaxPoolGrad", [x, y, dy], attrs)
    check(backend, "AvgPoolGrad", [i32(shape), dy], attrs)


def test_pool3d_grads(backend, rng):
    attrs = {"ksize": [1, 2, 2, 2, 1], "strides": [1, 2, 1, 2, 1], "padding": "SAME"}
    x = rand(rng, (1, 4, 5, 4, 2))
    y = run_tf("MaxPool3D", [x], attrs)[0]
    dy = rand(rng, y.shape)
    check(backend, "MaxPool3DGrad", [x, y, dy], attrs)
    check(backend, "AvgPool3DGrad", [i32(x.shape), dy], attrs)


def test_pool_grad_rejects_a_gradient_of_the_wrong_shape(backend, rng):
    assert_rejects(backend, "AvgPoolGrad", [i32((1, 4, 4, 1)), rand(rng, (1, 3, 3, 1))],
                   {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"}, match="out_backprop")


def _first(a):
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


def test_channels_first_window_grads(backend, rng):
    """NCHW inputs against TensorFlow's NHWC results, transposed (its CPU kernels are NHWC only)."""
    pool = {"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1], "padding": "SAME"}
    pool_first = {"ksize": [1, 1, 3, 3], "strides": [1, 1, 2, 2], "padding": "SAME", "data_format": "NCHW"}
    x = rand(rng, (2, 7, 6, 3))
    y = run_tf("MaxPool", [x], pool)[0]
    dy = rand(rng, y.shape)
    for op, inputs, first_inputs in (("MaxPoolGrad", [x, y, dy], [_first(x), _first(y), _first(dy)]),
                                     ("AvgPoolGrad", [i32(x.shape), dy], [i32(_first(x).shape), _first(dy)])):
        want = run_tf(op, inputs, pool)[0]
        assert_close(run_engine(backend, op, first_inputs, pool_first)[0], _first(want), what=f"{op} NCHW")
    conv = conv_attrs((2, 1), (1, 2), "SAME", None)
    conv_first = {"strides": [1, 1, 2, 1], "dilations": [1, 1, 1, 2], "padding": "SAME", "data_format": "NCHW"}
    dy = rand(rng, (2, 4, 6, 5))
    want = run_tf("Conv2DBackpropFilter", [x, i32((3, 2, 3, 5)), dy], conv)[0]
    got = run_engine(backend, "Conv2DBackpropFilter", [_first(x), i32((3, 2, 3, 5)), _first(dy)], conv_first)[0]
    assert_close(got, want, rtol=1e-4, atol=1e-5, what="Conv2DBackpropFilter NCHW")


def test_conv3d_backprop_input(backend, rng):
    attrs = {"strides": [1, 2, 1, 2, 1], "dilations": [1, 1, 2, 1, 1], "padding": "SAME"}
    check(backend, "Conv3DBackpropInputV2", [i32((2, 3, 5, 4, 2)), rand(rng, (2, 2, 3, 2, 3)),
                                             rand(rng, (2, 2, 5, 2, 3))], attrs, rtol=1e-4, atol=1e-5)
