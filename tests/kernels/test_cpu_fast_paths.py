"""The CPU backend's fast paths against TensorFlow: each way the numpy depthwise convolution can go
(einsum over merged rows, phase planes for strided widths, per-pixel einsum for many channels, tap by
tap for non-finite weights), im2col and 1x1 convolutions with their fused epilogues on long rows,
the reused scratch buffers, and the BLAS thread setting around small products."""
import numpy as np
import pytest

from engine import dtypes
from engine.kernels.cpu import control, convolution, slice_join, transformation, workspace
from tests.kernels.harness import check, conv_attrs, rand, run_engine, run_tf, tf

pytestmark = pytest.mark.tf

CPU = "cpu"


# x shape (NHWC), filter, strides, dilations, padding, explicit (h, w) pairs
DEPTHWISE = [
    ((2, 12, 13, 8), (3, 3, 8, 1), (1, 1), (1, 1), "SAME", None),      # merged rows, padded
    ((1, 9, 10, 5), (3, 3, 5, 1), (1, 1), (2, 3), "SAME", None),       # merged rows, dilated
    ((1, 11, 11, 6), (3, 3, 6, 2), (2, 2), (1, 1), "VALID", None),     # phase planes, multiplier 2
    ((2, 12, 12, 16), (3, 3, 16, 1), (2, 2), (1, 1), "SAME", None),    # phase planes, odd SAME pad
    ((1, 13, 14, 4), (5, 5, 4, 1), (3, 3), (1, 1), "SAME", None),      # three phases
    ((1, 12, 15, 3), (3, 3, 3, 1), (2, 2), (2, 2), "SAME", None),      # stride and dilation share a phase
    ((1, 11, 16, 3), (2, 4, 3, 1), (1, 2), (1, 3), "VALID", None),     # phases with dilation 3
    ((1, 10, 12, 4), (3, 3, 4, 1), (2, 2), (1, 1), "EXPLICIT", ((0, 1), (0, 1))),  # TF.js's padded stride 2
    ((1, 9, 9, 3), (3, 3, 3, 1), (1, 2), (1, 1), "EXPLICIT", ((2, 0), (3, 1))),
    ((1, 10, 10, 130), (3, 3, 130, 1), (2, 2), (1, 1), "SAME", None),  # many channels: per-pixel einsum
    ((1, 7, 7, 200), (3, 3, 200, 1), (1, 1), (1, 1), "SAME", None),
    ((1, 6, 7, 320), (3, 3, 320, 1), (1, 1), (1, 1), "SAME", None),    # unstrided, short rows: per pixel
    ((1, 1, 1, 4), (3, 3, 4, 1), (1, 1), (1, 1), "SAME", None),        # every tap but the centre in padding
    ((1, 8, 8, 3), (1, 1, 3, 2), (2, 2), (1, 1), "VALID", None),
]


@pytest.mark.parametrize("case", DEPTHWISE, ids=str)
def test_depthwise_paths(rng, case):
    x_shape, w_shape, strides, dilations, padding, explicit = case
    attrs = conv_attrs(strides, dilations, padding, explicit)
    x, w = rand(rng, x_shape), rand(rng, w_shape)
    if padding == "EXPLICIT":  # TensorFlow's CPU depthwise kernel takes no EXPLICIT padding: pad first
        (top, bottom), (left, right) = explicit
        padded = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])
        want = run_tf("DepthwiseConv2dNative", [padded, w], {**attrs, "padding": "VALID", "explicit_paddings": []})
        check(CPU, "DepthwiseConv2dNative", [x, w], attrs, reference=lambda *_: want)
    else:
        check(CPU, "DepthwiseConv2dNative", [x, w], attrs)


def test_depthwise_channels_first(rng):
    x, w = rand(rng, (2, 12, 11, 6)), rand(rng, (3, 3, 6, 1))
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME"}
    want = run_tf("DepthwiseConv2dNative", [x, w], attrs)[0]
    (got,) = run_engine(CPU, "DepthwiseConv2dNative", [np.ascontiguousarray(np.moveaxis(x, -1, 1)), w],
                        {"strides": [1, 1, 2, 2], "padding": "SAME", "data_format": "NCHW"})
    np.testing.assert_allclose(np.moveaxis(got, 1, -1), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_nan_inf(rng, stride):
    """NaN and infinities in the input reach exactly the windows that hold them; padding never
    multiplies an infinite weight (the tap-by-tap path)."""
    attrs = {"strides": [1, stride, stride, 1], "padding": "SAME"}
    x = rand(rng, (1, 9, 10, 4), specials=True)
    check(CPU, "DepthwiseConv2dNative", [x, rand(rng, (3, 3, 4, 1))], attrs)
    w = rand(rng, (3, 3, 4, 1))
    w[0, 0, 1, 0], w[2, 1, 3, 0] = np.inf, -np.inf
    check(CPU, "DepthwiseConv2dNative", [rand(rng, (1, 9, 10, 4)), w], attrs)


@pytest.mark.parametrize("fused_ops", [["BiasAdd", "Relu6"], ["BiasAdd", "Prelu"], ["FusedBatchNorm", "Relu"],
                                       ["BiasAdd", "Add", "Relu"]], ids=str)
@pytest.mark.parametrize("shape", [(1, 10, 9, 24), (2, 6, 7, 3)], ids=str)
def test_fused_epilogue_on_rows(rng, fused_ops, shape):
    """Per-channel args repeated along whole rows of pixels give what broadcasting gives."""
    channels = shape[-1]
    t = tf()
    x, w = rand(rng, shape), rand(rng, (1, 1, channels, 2 * channels))
    count = {"BiasAdd": 1, "Prelu": 1, "FusedBatchNorm": 4, "Add": 1}
    args = []
    for op in fused_ops:
        for _ in range(count.get(op, 0)):
            if op == "Add":
                args.append(rand(rng, (*shape[:-1], 2 * channels)))
            else:
                args.append(rand(rng, (2 * channels,), low=0.5 if op == "FusedBatchNorm" else -3.0))
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID", "fused_ops": fused_ops, "epsilon": 1e-3}

    def reference(x, w, *args):
        y = t.nn.conv2d(x, w, 1, "VALID")
        rest = list(args)
        for op in fused_ops:
            if op in ("BiasAdd", "Add"):
                y = y + rest.pop(0)
            elif op == "FusedBatchNorm":
                scale, offset, mean, variance = (rest.pop(0) for _ in range(4))
                y = (y - mean) * (scale / np.sqrt(variance + np.float32(1e-3))) + offset
            elif op == "Prelu":
                alpha = rest.pop(0)
                y = t.where(y < 0, y * alpha, y)
            elif op == "Relu6":
                y = t.nn.relu6(y)
            elif op == "Relu":
                y = t.nn.relu(y)
        return y

    check(CPU, "_FusedConv2D", [x, w, *args], attrs, reference=reference, rtol=1e-4, atol=1e-5)


def test_scratch_buffers_never_leak_into_outputs(rng):
    """Outputs stay intact after later calls reuse the padding and im2col buffers, with other
    shapes and paddings (the buffers' borders are zeroed again each time)."""
    conv2d_attrs = {"strides": [1, 2, 2, 1], "padding": "SAME"}
    dw_attrs = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    x1, w1 = rand(rng, (1, 16, 16, 3)), rand(rng, (3, 3, 3, 8))
    x2, w2 = rand(rng, (1, 9, 7, 5)), rand(rng, (3, 3, 5, 1))
    (a,) = run_engine(CPU, "Conv2D", [x1, w1], conv2d_attrs)
    a_copy = a.copy()
    (b,) = run_engine(CPU, "DepthwiseConv2dNative", [x2, w2], dw_attrs)
    (c,) = run_engine(CPU, "Conv2D", [rand(rng, (1, 5, 5, 3)), w1], {"strides": [1, 1, 1, 1], "padding": "VALID"})
    (b2,) = run_engine(CPU, "DepthwiseConv2dNative", [x2, w2], dw_attrs)
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(b, b2)
    np.testing.assert_allclose(b, run_tf("DepthwiseConv2dNative", [x2, w2], dw_attrs)[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a, run_tf("Conv2D", [x1, w1], conv2d_attrs)[0], rtol=1e-5, atol=1e-5)
    assert c.shape == (1, 3, 3, 8)


def test_scratch_is_per_slot_and_grows():
    first = workspace.scratch("test-slot", (4, 5), np.float32)
    bigger = workspace.scratch("test-slot", (40, 50), np.float32)
    other = workspace.scratch("test-other", (4, 5), np.float64)
    assert first.shape == (4, 5) and bigger.shape == (40, 50) and other.dtype == np.float64
    assert not np.shares_memory(bigger, other)
    assert workspace.scratch("test-slot", (0, 3), np.float32).shape == (0, 3)
    huge = workspace.scratch("test-slot", (workspace.MAX_KEPT_BYTES // 4 + 1,), np.float32)
    assert not np.shares_memory(huge, workspace.scratch("test-slot", (4,), np.float32))


def test_conv_info_cache_matches_conv_info():
    kwargs = {"strides": [1, 2, 2, 1], "padding": "SAME", "data_format": "NHWC", "dilations": [1, 1, 1, 1]}
    first = convolution.cached_conv_info((1, 9, 9, 3), (3, 3, 3, 4), **kwargs)
    again = convolution.cached_conv_info((1, 9, 9, 3), (3, 3, 3, 4), **{**kwargs, "strides": (1, 2, 2, 1)})
    assert first is again
    assert convolution.cached_conv_info((1, 9, 9, 3), (3, 3, 3, 4), **{**kwargs, "strides": np.array([1, 1, 1, 1])}) \
        .strides == (1, 1)


@pytest.mark.parametrize("op", ["AddV2", "Sub", "Mul", "RealDiv"])
@pytest.mark.parametrize("small_shape", [(1, 1, 1, 3), (3,)], ids=str)
def test_per_channel_broadcast_along_rows(rng, op, small_shape):
    """A per-channel operand of a few channels over a big image is repeated along whole rows: the
    same values as broadcasting, on either side of the op."""
    image, channel = rand(rng, (2, 40, 33, 3)), rand(rng, small_shape, low=0.5)
    check(CPU, op, [image, channel])
    check(CPU, op, [channel, image])


# -- small ops' direct paths: what the executor hands them (views, tiny tensors) --------------------

@pytest.mark.parametrize("axis", [0, 1])
def test_gather_from_strided_views(rng, axis):
    """Params that are a transpose's view (an SSD's boxes) are indexed in place, not copied whole
    by np.take: the same values as TensorFlow's gather of the same tensor."""
    params = rand(rng, (4, 50)).T  # F-contiguous (50, 4)
    indices = rng.integers(0, params.shape[axis], (3, 2)).astype(np.int32)
    got = slice_join.gather_v2(params, indices, np.int32(axis))
    np.testing.assert_array_equal(got, run_tf("GatherV2", [np.ascontiguousarray(params), indices, np.int32(axis)])[0])


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "string"])
def test_constant_pad_fills_directly(rng, dtype):
    x = rand(rng, (3, 4), dtype)
    paddings = np.array([[1, 2], [0, 3]], np.int32)
    np.testing.assert_array_equal(transformation.pad(x, paddings), run_tf("Pad", [x, paddings])[0])
    if dtype == "float32":
        value = np.float32(-7.5)
        np.testing.assert_array_equal(transformation.pad_v2(x, paddings, value),
                                      run_tf("PadV2", [x, paddings, value])[0])


@pytest.mark.parametrize("target", ["int32", "int64"])
def test_float_to_int_cast(target):
    """Values inside int32's range take C's cast, up to its edges; one NaN sends the tensor down
    TensorFlow's out-of-range rule (long tensors: TF's scalar tail wraps instead, see Cast)."""
    inside = np.tile(np.array([2.9, -2.9, 0.5, -0.5, -2147483648.0, 2147483520.0], np.float32), 32)
    with_nan = inside.copy()
    with_nan[7] = np.nan
    for x in (inside, with_nan):
        got = dtypes.to_storage(transformation.cast(x, DstT=target))  # int64 is kept as int32, as run_tf's
        np.testing.assert_array_equal(got, run_tf("Cast", [x], {"DstT": target, "SrcT": "float32"})[0])


def test_split_pieces(rng):
    x = rand(rng, (6, 8))
    for got, want in zip(slice_join.split(np.int32(1), x, num_split=4),
                         run_tf("Split", [np.int32(1), x], {"num_split": 4}), strict=True):
        np.testing.assert_array_equal(got, want)
    sizes = np.array([1, -1, 2], np.int32)
    for got, want in zip(slice_join.split_v(x, sizes, np.int32(0)),
                         run_tf("SplitV", [x, sizes, np.int32(0)], {"num_split": 3}), strict=True):
        np.testing.assert_array_equal(got, want)


def test_stacking_a_list_of_one_is_a_view(rng):
    """A batch of one (map_fn over one image) is stacked without a copy."""
    element = rand(rng, (5, 4, 3))
    stacked = control.tensor_list_stack(control.TensorList([element], (-1, -1, 3), "float32"),
                                        np.array([-1, -1, 3], np.int32), element_dtype="float32")
    assert stacked.shape == (1, 5, 4, 3) and np.shares_memory(stacked, element)
    np.testing.assert_array_equal(stacked[0], element)
