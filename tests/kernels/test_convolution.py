"""Convolution and pooling kernels against TensorFlow: shapes, strides, dilations, SAME / VALID /
EXPLICIT padding, both data formats, empty batches and NaN/Inf.

TensorFlow's CPU kernels don't all take channels-first data, so channels-first cases compare with
the channels-last op run on transposed inputs. The fused ops and TF.js's Conv1D, which raw_ops
lacks, compare with the same computation composed from TensorFlow ops.
"""
import numpy as np
import pytest

from engine.kernels import conv_util
from engine.kernels.cpu import convolution
from tests.kernels.harness import (ACTIVATION_EDGES, FUSED_ACTIVATIONS, LEAKYRELU_ALPHA, PRELU_ALPHA, check,
                                   check_fused_activation, conv_attrs, explicit_paddings, rand, run_engine,
                                   run_on_gpu, run_tf, tf)

pytestmark = pytest.mark.tf

FIRST = {4: "NCHW", 5: "NCDHW"}
LAST = {4: "NHWC", 5: "NDHWC"}


def channels_first(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


def first_order(values: list) -> list:
    """A per-dimension attr (or explicit_paddings, two per dim) from channels-last to channels-first order."""
    if len(values) in (8, 10):  # explicit_paddings
        pairs = [values[i:i + 2] for i in range(0, len(values), 2)]
        return [v for pair in first_order(pairs) for v in pair]
    return [values[0], values[-1], *values[1:-1]]


def check_layout(backend, op, inputs, attrs, layout, rtol=1e-4, atol=1e-5):
    """Checks `op` on channels-last `inputs` and `attrs`; for layout 'first', on inputs[0] moved to
    channels-first (output compared with the channels-last TensorFlow result, transposed)."""
    rank = inputs[0].ndim
    if layout == "last":
        return check(backend, op, inputs, {**attrs, "data_format": LAST[rank]}, rtol=rtol, atol=atol)
    want = run_tf(op, inputs, {**attrs, "data_format": LAST[rank]})
    moved = {k: first_order(v) if k in ("strides", "dilations", "ksize", "explicit_paddings") and v else v
             for k, v in attrs.items()}
    moved["data_format"] = FIRST[rank]
    return check(backend, op, [channels_first(inputs[0]), *inputs[1:]], moved,
                 reference=lambda *_: [channels_first(w) for w in want], rtol=rtol, atol=atol)


# x shape (NHWC), filter shape, strides (h, w), dilations (h, w), padding, explicit (h, w) pairs
CONV2D = [
    ((2, 9, 9, 3), (3, 3, 3, 4), (1, 1), (1, 1), "SAME", None),
    ((1, 10, 7, 5), (3, 2, 5, 6), (2, 3), (1, 1), "VALID", None),
    ((2, 11, 8, 4), (3, 3, 4, 2), (1, 1), (2, 3), "SAME", None),
    ((1, 7, 9, 3), (2, 4, 3, 5), (2, 1), (1, 2), "SAME", None),
    ((1, 12, 12, 2), (3, 3, 2, 3), (2, 2), (1, 1), "SAME", None),
    ((3, 6, 6, 8), (1, 1, 8, 16), (1, 1), (1, 1), "VALID", None),
    ((1, 9, 9, 4), (1, 1, 4, 3), (2, 2), (1, 1), "SAME", None),
    ((1, 8, 7, 3), (3, 3, 3, 2), (1, 1), (1, 1), "EXPLICIT", ((1, 2), (0, 3))),
    ((2, 8, 7, 3), (3, 2, 3, 2), (2, 3), (2, 1), "EXPLICIT", ((2, 0), (1, 1))),
    ((2, 5, 5, 2), (5, 5, 2, 3), (1, 1), (1, 1), "VALID", None),
    ((1, 1, 1, 3), (3, 3, 3, 2), (1, 1), (1, 1), "SAME", None),
]


@pytest.mark.parametrize("layout", ["last", "first"])
@pytest.mark.parametrize("case", CONV2D, ids=str)
def test_conv2d(backend, rng, case, layout):
    x_shape, w_shape, strides, dilations, padding, explicit = case
    check_layout(backend, "Conv2D", [rand(rng, x_shape), rand(rng, w_shape)],
                 conv_attrs(strides, dilations, padding, explicit), layout)


@pytest.mark.parametrize("block", [1, 100, 3000])
def test_conv2d_in_blocks(backend, rng, monkeypatch, block):
    """im2col in blocks of one row, of several rows, of whole images with a partial last block."""
    monkeypatch.setattr(convolution, "_IM2COL_BLOCK", block)
    check(backend, "Conv2D", [rand(rng, (5, 6, 5, 3)), rand(rng, (3, 3, 3, 4))],
          {"strides": [1, 1, 2, 1], "padding": "SAME"})


def test_conv2d_nan_inf(backend, rng):
    x = rand(rng, (2, 8, 8, 3), specials=True)
    check(backend, "Conv2D", [x, rand(rng, (3, 3, 3, 4))], {"strides": [1, 1, 1, 1], "padding": "VALID"})
    check(backend, "Conv2D", [x, rand(rng, (1, 1, 3, 4))], {"strides": [1, 1, 1, 1], "padding": "VALID"})


def test_conv2d_empty(backend, rng):
    """TensorFlow's oneDNN kernel gets these shapes wrong, so they're checked directly."""
    w = rand(rng, (3, 3, 3, 2))
    (out,) = run_engine(backend, "Conv2D", [rand(rng, (0, 5, 5, 3)), w], {"strides": [1, 2, 2, 1], "padding": "VALID"})
    assert out.shape == (0, 2, 2, 2)
    (out,) = run_engine(backend, "Conv2D", [rand(rng, (1, 2, 2, 3)), w], {"strides": [1, 2, 2, 1], "padding": "VALID"})
    assert out.shape == (1, 0, 0, 2)


# x shape (NDHWC), filter, strides, dilations, padding
CONV3D = [
    ((1, 5, 6, 7, 2), (2, 3, 3, 2, 3), (1, 1, 1), (1, 1, 1), "SAME"),
    ((2, 6, 5, 5, 3), (3, 2, 2, 3, 2), (2, 1, 2), (1, 1, 1), "VALID"),
    ((1, 7, 7, 6, 2), (2, 2, 3, 2, 4), (1, 2, 1), (2, 2, 1), "SAME"),
    ((2, 3, 4, 4, 4), (1, 1, 1, 4, 5), (1, 1, 1), (1, 1, 1), "VALID"),
]


@pytest.mark.parametrize("layout", ["last", "first"])
@pytest.mark.parametrize("case", CONV3D, ids=str)
def test_conv3d(backend, rng, case, layout):
    x_shape, w_shape, strides, dilations, padding = case
    attrs = {"strides": [1, *strides, 1], "dilations": [1, *dilations, 1], "padding": padding}
    check_layout(backend, "Conv3D", [rand(rng, x_shape), rand(rng, w_shape)], attrs, layout)


@pytest.mark.parametrize("case", [((2, 11, 3), (3, 3, 4), 1, "SAME", 1), ((1, 12, 2), (2, 2, 3), 2, "VALID", 1),
                                  ((2, 13, 3), (3, 3, 2), 1, "SAME", 3), ((1, 9, 4), (1, 4, 5), 3, "SAME", 1)],
                         ids=str)
def test_conv1d(backend, rng, case):
    """TF.js's Conv1D attrs: scalar stride and dilation; tf.nn.conv1d is the reference."""
    x_shape, w_shape, stride, padding, dilation = case
    x, w = rand(rng, x_shape), rand(rng, w_shape)
    check(backend, "Conv1D", [x, w], {"stride": stride, "padding": padding, "dilation": dilation},
          reference=lambda x, w: tf().nn.conv1d(x, w, stride, padding, dilations=dilation))
    check(backend, "Conv1D", [channels_first(x), w], {"stride": stride, "padding": padding, "dilation": dilation,
                                           "data_format": "NCW"},
          reference=lambda *_: channels_first(tf().nn.conv1d(x, w, stride, padding, dilations=dilation).numpy()))


# x shape (NHWC), filter (KH, KW, C, M), strides, dilations, padding, explicit
DEPTHWISE = [
    ((2, 9, 9, 3), (3, 3, 3, 1), (1, 1), (1, 1), "SAME", None),
    ((1, 10, 11, 4), (3, 3, 4, 2), (2, 2), (1, 1), "SAME", None),
    ((1, 8, 9, 2), (2, 3, 2, 3), (1, 2), (2, 1), "VALID", None),
    ((2, 7, 7, 5), (3, 3, 5, 1), (2, 1), (2, 2), "SAME", None),
    ((1, 9, 8, 3), (3, 3, 3, 2), (1, 3), (1, 1), "EXPLICIT", ((1, 2), (2, 0))),
    ((1, 6, 6, 4), (1, 1, 4, 2), (1, 1), (1, 1), "VALID", None),
    ((1, 3, 4, 2), (3, 3, 2, 1), (1, 1), (3, 3), "SAME", None),  # outer taps read only padding
]


@pytest.mark.parametrize("layout", ["last", "first"])
@pytest.mark.parametrize("case", DEPTHWISE, ids=str)
def test_depthwise(backend, rng, case, layout):
    x_shape, w_shape, strides, dilations, padding, explicit = case
    check_layout(backend, "DepthwiseConv2dNative", [rand(rng, x_shape), rand(rng, w_shape)],
                 conv_attrs(strides, dilations, padding, explicit), layout)


def test_depthwise_tfjs_name(backend, rng):
    """DepthwiseConv2d is not a TensorFlow op: TF.js's name for DepthwiseConv2dNative."""
    attrs = {"strides": [1, 2, 1, 1], "padding": "SAME", "dilations": [1, 1, 2, 1]}
    check(backend, "DepthwiseConv2d", [rand(rng, (2, 7, 8, 3)), rand(rng, (3, 3, 3, 2))], attrs,
          reference=lambda *inputs: run_tf("DepthwiseConv2dNative", inputs, attrs))


def test_depthwise_nan_inf_and_empty(backend, rng):
    attrs = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    check(backend, "DepthwiseConv2dNative", [rand(rng, (1, 6, 6, 3), specials=True), rand(rng, (3, 3, 3, 2))], attrs)
    (out,) = run_engine(backend, "DepthwiseConv2dNative", [rand(rng, (0, 6, 6, 3)), rand(rng, (3, 3, 3, 2))], attrs)
    assert out.shape == (0, 6, 6, 6)


def _activate(y, name, alpha, prelu):
    t = tf()
    name = name.lower()
    return {"relu": t.nn.relu, "relu6": t.nn.relu6, "elu": t.nn.elu, "sigmoid": t.sigmoid, "tanh": t.tanh,
            "leakyrelu": lambda v: t.nn.leaky_relu(v, alpha), "prelu": lambda v: t.where(v < 0, v * prelu, v),
            }[name](y)


def fused_reference(op, fused_ops, attrs, channels_last=True):
    """The fused op composed from TensorFlow ops: the convolution, then bias or batch norm, then
    the activation, taking args in order (channels-first x is run channels-last, 1-D args as they are)."""
    conv = "Conv2D" if op == "_FusedConv2D" else "DepthwiseConv2dNative"
    t = tf()

    def reference(x, w, *args):
        if not channels_last:
            x = np.moveaxis(x, 1, -1)
        y = t.constant(run_tf(conv, [x, w], {**attrs, "data_format": "NHWC"})[0])
        args = list(args)
        for name in fused_ops:
            name = name.lower()
            if name == "biasadd":
                y = t.nn.bias_add(y, args.pop(0))
            elif name == "add":
                y = y + args.pop(0)
            elif name == "fusedbatchnorm":
                scale, offset, mean, variance = (args.pop(0) for _ in range(4))
                y = (y - mean) * t.math.rsqrt(variance + 1e-3) * scale + offset
            elif name != "noop":
                y = _activate(y, name, 0.3, args.pop(0) if name == "prelu" else None)
        y = y.numpy()
        return y if channels_last else np.moveaxis(y, -1, 1)
    return reference


FUSED = [["BiasAdd"], ["BiasAdd", "Relu"], ["BiasAdd", "Relu6"], ["BiasAdd", "Elu"], ["BiasAdd", "Sigmoid"],
         ["BiasAdd", "Tanh"], ["BiasAdd", "LeakyRelu"], ["BiasAdd", "Prelu"], ["biasadd", "relu6"],
         ["FusedBatchNorm"], ["FusedBatchNorm", "Relu"], ["Relu"], ["NoOp", "Prelu"], ["BiasAdd", "Add", "Relu"]]


def fused_args(rng, fused_ops, out_shape, channels):
    args = []
    for name in (n.lower() for n in fused_ops):
        if name == "biasadd":
            args.append(rand(rng, (channels,)))
        elif name == "prelu":
            args.append(rand(rng, (channels,), low=0.0, high=0.5))
        elif name == "add":
            args.append(rand(rng, out_shape))
        elif name == "fusedbatchnorm":
            args += [rand(rng, (channels,)), rand(rng, (channels,)), rand(rng, (channels,)),
                     rand(rng, (channels,), low=0.1, high=2.0)]
    return args


@pytest.mark.parametrize("op", ["_FusedConv2D", "FusedDepthwiseConv2dNative"])
@pytest.mark.parametrize("fused_ops", FUSED, ids=str)
def test_fused(backend, rng, op, fused_ops):
    x = rand(rng, (2, 7, 8, 3))
    w = rand(rng, (3, 3, 3, 4) if op == "_FusedConv2D" else (3, 3, 3, 2))
    channels = 4 if op == "_FusedConv2D" else 6
    out_shape = (2, 4, 4, channels)
    args = fused_args(rng, fused_ops, out_shape, channels)
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}
    fused_attrs = {**attrs, "fused_ops": fused_ops, "num_args": len(args), "epsilon": 1e-3, "leakyrelu_alpha": 0.3}
    check(backend, op, [x, w, *args], fused_attrs, reference=fused_reference(op, fused_ops, attrs), atol=1e-5)


@pytest.mark.parametrize("fused_ops", [["BiasAdd", "Relu"], ["BiasAdd", "Relu6"], ["BiasAdd", "Sigmoid"]], ids=str)
def test_fused_nan_inf(backend, rng, fused_ops):
    """Activations keep NaN, as TensorFlow's."""
    x, w, bias = rand(rng, (1, 6, 6, 3), specials=True), rand(rng, (1, 1, 3, 4)), rand(rng, (4,))
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID"}
    check(backend, "_FusedConv2D", [x, w, bias], {**attrs, "fused_ops": fused_ops},
          reference=fused_reference("_FusedConv2D", fused_ops, attrs))


@pytest.mark.parametrize("activation", FUSED_ACTIVATIONS)
def test_fused_activation_matches_standalone_op(backend, activation):
    """A 1x1 identity convolution (weight 1, bias 0) leaves the activation alone: at tiny, huge, NaN
    and infinite inputs it must give what the standalone op and TensorFlow give."""
    x = ACTIVATION_EDGES
    args = [np.zeros(1, np.float32)] + ([PRELU_ALPHA] if activation == "Prelu" else [])
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID", "fused_ops": ["BiasAdd", activation],
             "num_args": len(args), "leakyrelu_alpha": LEAKYRELU_ALPHA}
    fused = run_on_gpu(backend, "_FusedConv2D", [x.reshape(1, 1, -1, 1), np.ones((1, 1, 1, 1), np.float32), *args],
                       attrs)[0]
    check_fused_activation(backend, activation, fused, x)


@pytest.mark.parametrize("fused_ops", [["BiasAdd", "Prelu"], ["FusedBatchNorm", "Relu6"]], ids=str)
def test_fused_channels_first(backend, rng, fused_ops):
    """NCHW: 1-D bias, batch-norm and PReLU args line up with the channel axis, as TF.js."""
    x = rand(rng, (2, 3, 7, 8))
    w = rand(rng, (3, 3, 3, 4))
    args = fused_args(rng, fused_ops, (2, 4, 7, 8), 4)
    attrs = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    fused_attrs = {**attrs, "data_format": "NCHW", "fused_ops": fused_ops, "epsilon": 1e-3}
    check(backend, "_FusedConv2D", [x, w, *args], fused_attrs,
          reference=fused_reference("_FusedConv2D", fused_ops, attrs, channels_last=False), atol=1e-5)


# input shape (NHWC), filter, strides, dilations, padding, explicit
BACKPROP_INPUT = [
    ((2, 7, 7, 3), (3, 3, 3, 4), (1, 1), (1, 1), "SAME", None),
    ((1, 9, 8, 2), (3, 3, 2, 3), (2, 2), (1, 1), "SAME", None),
    ((1, 10, 9, 3), (2, 3, 3, 2), (2, 3), (1, 1), "VALID", None),
    ((2, 9, 9, 2), (3, 3, 2, 2), (1, 1), (2, 2), "SAME", None),
    ((1, 7, 7, 3), (3, 3, 3, 2), (1, 1), (1, 1), "EXPLICIT", ((1, 2), (1, 1))),
    ((1, 6, 6, 4), (1, 1, 4, 5), (2, 2), (1, 1), "VALID", None),
    ((1, 3, 4, 2), (3, 3, 2, 2), (1, 1), (3, 3), "SAME", None),  # outer taps read only padding
]


@pytest.mark.parametrize("layout", ["last", "first"])
@pytest.mark.parametrize("case", BACKPROP_INPUT, ids=str)
def test_conv2d_backprop_input(backend, rng, case, layout):
    in_shape, w_shape, strides, dilations, padding, explicit = case
    attrs = conv_attrs(strides, dilations, padding, explicit)
    info = conv_util.conv_info(in_shape, w_shape, data_format="NHWC", **attrs)
    w, dy = rand(rng, w_shape), rand(rng, info.out_shape)
    if layout == "last":
        check(backend, "Conv2DBackpropInput", [np.array(in_shape, np.int32), w, dy],
              {**attrs, "data_format": "NHWC"}, atol=1e-5)
        return
    (want,) = run_tf("Conv2DBackpropInput", [np.array(in_shape, np.int32), w, dy], {**attrs, "data_format": "NHWC"})
    moved = {k: first_order(v) if isinstance(v, list) else v for k, v in attrs.items()}
    check(backend, "Conv2DBackpropInput", [np.array(first_order(list(in_shape)), np.int32), w, channels_first(dy)],
          {**moved, "data_format": "NCHW"}, reference=lambda *_: channels_first(want), atol=1e-5)


def test_conv2d_backprop_input_spatial_sizes(backend, rng):
    """input_sizes may give only (height, width)."""
    w, dy = rand(rng, (3, 3, 2, 3)), rand(rng, (2, 4, 4, 3))
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME"}
    check(backend, "Conv2DBackpropInput", [np.array([8, 7], np.int32), w, dy], attrs,
          reference=lambda *_: run_tf("Conv2DBackpropInput", [np.array([2, 8, 7, 2], np.int32), w, dy], attrs))


# x shape (NHWC), ksize (h, w), strides (h, w), padding
POOL2D = [
    ((2, 9, 9, 3), (3, 3), (2, 2), "SAME"),
    ((1, 8, 7, 4), (2, 2), (2, 2), "VALID"),
    ((2, 10, 11, 2), (3, 2), (1, 3), "SAME"),
    ((1, 5, 6, 3), (5, 6), (1, 1), "VALID"),
    ((1, 4, 4, 2), (1, 1), (2, 1), "SAME"),
    ((1, 3, 4, 2), (4, 5), (2, 2), "SAME"),
    ((2, 3, 4, 2), (5, 6), (5, 6), "SAME"),  # one window per image, reaching into padding on every side
]


@pytest.mark.parametrize("op", ["MaxPool", "AvgPool"])
@pytest.mark.parametrize("layout", ["last", "first"])
@pytest.mark.parametrize("case", POOL2D, ids=str)
def test_pool2d(backend, rng, case, layout, op):
    x_shape, ksize, strides, padding = case
    attrs = {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1], "padding": padding}
    check_layout(backend, op, [rand(rng, x_shape)], attrs, layout)


def test_max_pool_explicit(backend, rng):
    attrs = {"ksize": [1, 3, 2, 1], "strides": [1, 2, 1, 1], "padding": "EXPLICIT",
             "explicit_paddings": explicit_paddings((1, 2), (0, 1))}
    check_layout(backend, "MaxPool", [rand(rng, (2, 7, 6, 3))], attrs, "last")
    check_layout(backend, "MaxPool", [rand(rng, (2, 7, 6, 3))], attrs, "first")


def test_pool_nan_inf(backend, rng):
    """MaxPool skips NaN and starts from float32's lowest, so all-NaN or all -inf windows give -3.4e38."""
    nan, inf = np.nan, np.inf
    x = np.array([[nan, 1, 2, nan], [3, nan, -inf, -inf], [-inf, -inf, nan, nan], [-inf, nan, nan, nan]],
                 np.float32).reshape(1, 4, 4, 1)
    x = np.concatenate([x, rand(rng, (1, 4, 4, 1), specials=True)], axis=-1)
    for op in ["MaxPool", "AvgPool"]:
        for ksize, strides, padding in [((2, 2), (1, 1), "VALID"), ((1, 1), (1, 1), "VALID"), ((3, 3), (2, 2), "SAME")]:
            check(backend, op, [x], {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1], "padding": padding})


@pytest.mark.parametrize("include_batch", [False, True])
@pytest.mark.parametrize("case", POOL2D[:5], ids=str)
def test_max_pool_with_argmax(backend, rng, case, include_batch):
    x_shape, ksize, strides, padding = case
    x = rng.integers(-3, 4, x_shape).astype(np.float32)  # ties: the first in the window wins
    check(backend, "MaxPoolWithArgmax", [x], {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1],
                                              "padding": padding, "include_batch_in_index": include_batch})


def test_max_pool_with_argmax_nan_inf(backend):
    nan, inf = np.nan, np.inf
    x = np.array([[nan, 1, 2, nan], [3, nan, -inf, -inf], [-inf, -inf, nan, nan], [-inf, nan, nan, nan]],
                 np.float32).reshape(1, 4, 4, 1)
    for ksize, strides, padding in [((2, 2), (1, 1), "VALID"), ((3, 3), (2, 2), "SAME")]:
        check(backend, "MaxPoolWithArgmax", [x], {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1],
                                                  "padding": padding})


# x shape (NDHWC), ksize, strides, padding
POOL3D = [
    ((2, 5, 6, 7, 3), (2, 2, 2), (2, 2, 2), "VALID"),
    ((1, 5, 5, 6, 2), (3, 2, 3), (1, 2, 2), "SAME"),
    ((1, 4, 3, 5, 2), (1, 3, 2), (2, 1, 3), "SAME"),
]


@pytest.mark.parametrize("op", ["MaxPool3D", "AvgPool3D"])
@pytest.mark.parametrize("layout", ["last", "first"])
@pytest.mark.parametrize("case", POOL3D, ids=str)
def test_pool3d(backend, rng, case, layout, op):
    x_shape, ksize, strides, padding = case
    attrs = {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1], "padding": padding}
    check_layout(backend, op, [rand(rng, x_shape, specials=case is POOL3D[1])], attrs, layout)


# x shape, filter (KH, KW, C), strides, rates, padding
DILATION2D = [
    ((2, 8, 8, 3), (3, 3, 3), (1, 1), (1, 1), "SAME"),
    ((1, 9, 7, 2), (2, 3, 2), (2, 1), (1, 2), "VALID"),
    ((1, 7, 7, 3), (2, 2, 3), (2, 2), (2, 2), "SAME"),
    ((1, 6, 5, 1), (3, 1, 1), (1, 2), (2, 1), "SAME"),
    ((1, 3, 4, 2), (3, 3, 2), (1, 1), (3, 3), "SAME"),
]


@pytest.mark.parametrize("case", DILATION2D, ids=str)
def test_dilation2d(backend, rng, case):
    x_shape, f_shape, strides, rates, padding = case
    check(backend, "Dilation2D", [rand(rng, x_shape, specials=True), rand(rng, f_shape)],
          {"strides": [1, *strides, 1], "rates": [1, *rates, 1], "padding": padding})


def test_windowed_output_matches_tensorflow_rules():
    assert conv_util.windowed_output(112, 3, 2, 1, "SAME") == (56, (0, 1))
    assert conv_util.windowed_output(7, 3, 1, 2, "SAME") == (7, (2, 2))
    assert conv_util.windowed_output(10, 3, 3, 1, "VALID") == (3, (0, 0))
    assert conv_util.windowed_output(1, 4, 2, 1, "VALID") == (0, (0, 0))  # C++ truncation, not floor
    assert conv_util.windowed_output(7, 3, 2, 1, "EXPLICIT", (1, 2)) == (4, (1, 2))
    with pytest.raises(ValueError):
        conv_util.windowed_output(1, 5, 2, 1, "VALID")


def test_conv_info():
    info = conv_util.conv_info((2, 3, 9, 10), (3, 2, 3, 8), strides=[1, 1, 2, 3], padding="SAME",
                               data_format="NCHW", dilations=[1, 1, 1, 2])
    assert (info.batch, info.in_channels, info.out_channels) == (2, 3, 8)
    assert (info.out_height, info.out_width, info.stride_height, info.dilation_width) == (5, 4, 2, 2)
    assert (info.pad_top, info.pad_bottom, info.pad_left, info.pad_right) == (1, 1, 1, 1)
    assert info.out_shape == (2, 8, 5, 4)
    depthwise = conv_util.conv_info((1, 5, 5, 3), (3, 3, 3, 2), strides=[1, 1, 1, 1], padding="VALID",
                                    data_format="NHWC", depthwise=True)
    assert depthwise.out_shape == (1, 3, 3, 6)
    with pytest.raises(ValueError):
        conv_util.conv_info((1, 5, 5, 3), (3, 3, 4, 2), strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC")
    with pytest.raises(ValueError):
        conv_util.conv_info((1, 5, 5, 3), (3, 3, 3, 2), strides=[2, 1, 1, 1], padding="SAME", data_format="NHWC")


# -- GL concerns: textures of many rows, big channel counts, odd sizes, every fused variant, NaN/Inf --
# (all run on both backends; on webgl check() also asserts the GL kernel ran, not a CPU fallback)

def test_large_image(backend, rng):
    """A 180x180 RGB image spans many texture rows (and the filter another layout): a MobileNet-style
    stem (strided conv + bias + Relu6), a depthwise conv and pools over it."""
    x = rand(rng, (1, 180, 180, 3))
    w, bias = rand(rng, (3, 3, 3, 8)), rand(rng, (8,))
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}
    check(backend, "_FusedConv2D", [x, w, bias], {**attrs, "fused_ops": ["BiasAdd", "Relu6"]},
          reference=fused_reference("_FusedConv2D", ["BiasAdd", "Relu6"], attrs), atol=1e-5)
    check(backend, "DepthwiseConv2dNative", [x, rand(rng, (3, 3, 3, 2))],
          {"strides": [1, 1, 1, 1], "padding": "SAME"}, atol=1e-5)
    for op in ["MaxPool", "AvgPool"]:
        check(backend, op, [x], {"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1], "padding": "SAME"})


@pytest.mark.parametrize("layout", ["last", "first"])
def test_big_channel_counts(backend, rng, layout):
    """Pointwise and 3x3 convolutions over hundreds of channels, a depthwise conv and a global
    average pool over many channels."""
    check_layout(backend, "Conv2D", [rand(rng, (1, 5, 5, 256)), rand(rng, (1, 1, 256, 96))],
                 {"strides": [1, 1, 1, 1], "padding": "VALID"}, layout, atol=1e-4)
    check_layout(backend, "Conv2D", [rand(rng, (1, 6, 5, 64)), rand(rng, (3, 3, 64, 33))],
                 {"strides": [1, 2, 1, 1], "padding": "SAME"}, layout, atol=1e-4)
    check_layout(backend, "DepthwiseConv2dNative", [rand(rng, (1, 6, 6, 384)), rand(rng, (3, 3, 384, 1))],
                 {"strides": [1, 2, 2, 1], "padding": "SAME"}, layout)
    check_layout(backend, "AvgPool", [rand(rng, (1, 7, 7, 320))],
                 {"ksize": [1, 7, 7, 1], "strides": [1, 1, 1, 1], "padding": "VALID"}, layout)


def test_odd_sizes(backend, rng):
    """Unit and prime spatial sizes, a window wider than the input, a long 1-D signal."""
    check(backend, "Conv2D", [rand(rng, (3, 13, 1, 7)), rand(rng, (5, 3, 7, 5))],
          {"strides": [1, 3, 2, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}, atol=1e-5)
    check(backend, "Conv2D", [rand(rng, (1, 1, 17, 2)), rand(rng, (1, 4, 2, 3))],
          {"strides": [1, 1, 1, 1], "padding": "VALID", "dilations": [1, 1, 3, 1]})
    check(backend, "MaxPool", [rand(rng, (2, 3, 11, 3))], {"ksize": [1, 5, 4, 1], "strides": [1, 1, 3, 1],
                                                          "padding": "SAME"})
    x, w = rand(rng, (1, 1000, 3)), rand(rng, (7, 3, 4))
    check(backend, "Conv1D", [x, w], {"stride": 3, "padding": "SAME", "dilation": 1},
          reference=lambda x, w: tf().nn.conv1d(x, w, 3, "SAME"))


def test_conv2d_backprop_input_large(backend, rng):
    in_shape, w_shape = (1, 31, 30, 8), (3, 3, 8, 16)
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME"}
    info = conv_util.conv_info(in_shape, w_shape, data_format="NHWC", **attrs)
    check(backend, "Conv2DBackpropInput", [np.array(in_shape, np.int32), rand(rng, w_shape),
                                           rand(rng, info.out_shape)], attrs, atol=1e-4)


ACTIVATIONS = ["Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Prelu"]


@pytest.mark.parametrize("op", ["_FusedConv2D", "FusedDepthwiseConv2dNative"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fused_activations_nan_inf(backend, rng, op, activation):
    """Every fused activation keeps NaN (llvmpipe's tanh(NaN) is -1 and its selects may drop NaN)
    and maps the infinities as TensorFlow, after a batch norm and after a bias."""
    x = rand(rng, (1, 5, 6, 3), specials=True)
    x[0, 0, :3, 0] = [np.nan, np.inf, -np.inf]  # a 1x1 filter passes them through unmixed
    w = rand(rng, (1, 1, 3, 4) if op == "_FusedConv2D" else (1, 1, 3, 2), low=0.5, high=1.0)
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID", "dilations": [1, 1, 1, 1]}
    for first in ["BiasAdd", "FusedBatchNorm"]:
        fused_ops = [first, activation]
        args = fused_args(rng, fused_ops, (1, 5, 6, 6), 4 if op == "_FusedConv2D" else 6)
        check(backend, op, [x, w, *args], {**attrs, "fused_ops": fused_ops, "epsilon": 1e-3,
                                           "leakyrelu_alpha": 0.3},
              reference=fused_reference(op, fused_ops, attrs), atol=1e-5)


@pytest.mark.parametrize("op", ["_FusedConv2D", "FusedDepthwiseConv2dNative"])
@pytest.mark.parametrize("fused_ops", [["BiasAdd", "Prelu"], ["FusedBatchNorm", "Elu"],
                                       ["BiasAdd", "Add", "LeakyRelu"]], ids=str)
def test_fused_channels_first_all_ops(backend, rng, op, fused_ops):
    """NCHW fused convolutions: 1-D args follow the channel axis, an 'Add' addend is NCHW."""
    x = rand(rng, (2, 9, 8, 3))
    w = rand(rng, (3, 3, 3, 4) if op == "_FusedConv2D" else (3, 3, 3, 2))
    channels = 4 if op == "_FusedConv2D" else 6
    args = fused_args(rng, fused_ops, (2, 5, 4, channels), channels)
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}
    want = fused_reference(op, fused_ops, attrs)(x, w, *args)
    first_args = [channels_first(a) if a.ndim == 4 else a for a in args]
    check(backend, op, [channels_first(x), w, *first_args],
          {**attrs, "strides": [1, 1, 2, 2], "data_format": "NCHW", "fused_ops": fused_ops, "epsilon": 1e-3,
           "leakyrelu_alpha": 0.3}, reference=lambda *_: channels_first(want), atol=1e-5)


def test_fused_arg_shapes(backend, rng):
    """PReLU weights shaped (1, 1, C) or a single value, LeakyRelu's default alpha, a (1, C) bias."""
    x, w = rand(rng, (1, 6, 7, 3)), rand(rng, (3, 3, 3, 4))
    attrs = {"strides": [1, 1, 1, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}
    conv = run_tf("Conv2D", [x, w], attrs)[0]
    bias = rand(rng, (4,))
    for alpha in [rand(rng, (1, 1, 4), low=0, high=0.5), np.array([0.25], np.float32)]:
        check(backend, "_FusedConv2D", [x, w, bias, alpha], {**attrs, "fused_ops": ["BiasAdd", "Prelu"]},
              reference=lambda *_, alpha=alpha: np.where(conv + bias < 0, (conv + bias) * alpha, conv + bias),
              atol=1e-5)
    check(backend, "_FusedConv2D", [x, w, bias], {**attrs, "fused_ops": ["BiasAdd", "LeakyRelu"]},
          reference=lambda *_: np.where(conv + bias < 0, (conv + bias) * np.float32(0.2), conv + bias), atol=1e-5)
    check(backend, "_FusedConv2D", [x, w, bias.reshape(1, 4)], {**attrs, "fused_ops": ["BiasAdd"]},
          reference=lambda *_: conv + bias, atol=1e-5)


def test_fused_order_gl_cannot_fuse(backend, rng):
    """An addition after the activation is not a fusion TF makes; the GL kernel hands it to the CPU."""
    x, w, bias = rand(rng, (1, 5, 5, 3)), rand(rng, (3, 3, 3, 4)), rand(rng, (4,))
    attrs = {"strides": [1, 1, 1, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}
    conv = run_tf("Conv2D", [x, w], attrs)[0]
    check(backend, "_FusedConv2D", [x, w, bias], {**attrs, "fused_ops": ["Relu", "BiasAdd"]},
          reference=lambda *_: np.maximum(conv, 0) + bias, atol=1e-5, allow_fallback=True)


def test_dilation2d_infinite_filter(backend, rng):
    """x + filter is NaN for inf + -inf: skipped, like NaN inputs."""
    x = rand(rng, (1, 6, 6, 2), specials=True)
    x[0, 2, 2, :] = np.inf
    f = rand(rng, (2, 2, 2))
    f[0, 1, 0], f[1, 0, 1] = -np.inf, np.inf
    check(backend, "Dilation2D", [x, f], {"strides": [1, 1, 1, 1], "rates": [1, 1, 1, 1], "padding": "SAME"})


def test_gl_chain_stays_on_gpu(webgl, rng):
    """Convolutions and pools feed each other as textures: no downloads, no fallbacks, and the same
    shapes a second time compile nothing."""
    import engine
    from tests.kernels.harness import assert_close, to_tensor
    impl = engine.get_backend(webgl)
    x, w, dw, bias = rand(rng, (1, 20, 20, 3)), rand(rng, (3, 3, 3, 8)), rand(rng, (3, 3, 8, 1)), rand(rng, (8,))
    conv_attrs_ = {"strides": [1, 2, 2, 1], "padding": "SAME", "dilations": [1, 1, 1, 1]}

    def chain():
        tensors = [to_tensor(a) for a in (x, w, dw, bias)]
        for t in tensors:
            impl.texture_of(t)
        (y,) = impl.run("_FusedConv2D", [tensors[0], tensors[1], tensors[3]],
                        {**conv_attrs_, "fused_ops": ["BiasAdd", "Relu"]})
        (y,) = impl.run("DepthwiseConv2dNative", [y, tensors[2]], {"strides": [1, 1, 1, 1], "padding": "SAME"})
        (y,) = impl.run("MaxPool", [y], {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"})
        return y

    before = impl.stats.as_dict()
    y = chain()
    after = impl.stats.as_dict()
    assert after["downloads"] == before["downloads"] and after["cpu_fallbacks"] == before["cpu_fallbacks"]
    made = impl.stats.programs_made
    got = y.numpy()
    chain()
    assert impl.stats.programs_made == made
    want = run_tf("Conv2D", [x, w], conv_attrs_)[0] + bias
    want = run_tf("DepthwiseConv2dNative", [np.maximum(want, 0), dw], {"strides": [1, 1, 1, 1], "padding": "SAME"})[0]
    want = run_tf("MaxPool", [want], {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"})[0]
    assert_close(got, want, atol=1e-5)


def test_non_finite_filter_taps_in_padding(backend, rng):
    """A NaN or Inf weight whose tap lands in the padding leaves that output finite, as in
    TensorFlow (padding is skipped, not multiplied as zeros)."""
    x = rand(rng, (1, 5, 6, 2))
    attrs = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    w = rand(rng, (3, 3, 2, 3))
    w[0, 0, 0, 0], w[2, 1, 1, 2] = np.nan, np.inf
    check(backend, "Conv2D", [x, w], attrs, atol=1e-5)
    w = rand(rng, (3, 3, 2, 2))
    w[0, 0, 0, 0], w[2, 2, 1, 1] = np.nan, -np.inf
    check(backend, "DepthwiseConv2dNative", [x, w], attrs)


def test_windows_longer_than_a_driver_loop(backend, rng):
    """A 260x260 global pool is more loop iterations than llvmpipe runs in one fragment: that case
    runs on the CPU rather than returning a truncated sum."""
    x = rand(rng, (1, 260, 260, 2))
    attrs = {"ksize": [1, 260, 260, 1], "strides": [1, 1, 1, 1], "padding": "VALID"}
    check(backend, "AvgPool", [x], attrs, allow_fallback=True)
    check(backend, "MaxPool", [x], attrs, allow_fallback=True)
