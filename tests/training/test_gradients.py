"""Every gradient definition against TensorFlow's tf.GradientTape: the op runs on a tfgl backend under
a GradientTape, its output gradient a random tensor, and the gradients of its float inputs are
compared with TensorFlow's for the same op (tf.raw_ops), inputs and output gradient."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import engine
from engine.autodiff import GradientTape
from engine.errors import GradientError
from tests.kernels.harness import assert_close, call_raw_op, conv_attrs, i32, tf, to_tensor

pytestmark = pytest.mark.tf

NHWC = {"data_format": "NHWC"}


def pool_attrs(size, stride, padding, rank=4):
    spatial = rank - 2
    return {"ksize": [1, *[size] * spatial, 1], "strides": [1, *[stride] * spatial, 1], "padding": padding,
            "data_format": "NHWC" if rank == 4 else "NDHWC"}


# (id, op, input makers (rng -> array), attrs, indices of the inputs differentiated)
def u(*shape, low=-3.0, high=3.0):
    return lambda rng: rng.uniform(low, high, shape).astype(np.float32)


def const(value):
    return lambda rng: np.asarray(value)


CASES = [
    ("add-broadcast", "AddV2", [u(2, 3, 4), u(3, 1)], {}, [0, 1]),
    ("sub", "Sub", [u(4, 5), u(5)], {}, [0, 1]),
    ("mul-broadcast", "Mul", [u(2, 3, 4), u(1, 3, 1)], {}, [0, 1]),
    ("div", "RealDiv", [u(3, 4), u(4, low=0.5, high=2.0)], {}, [0, 1]),
    ("squared-difference", "SquaredDifference", [u(3, 4), u(3, 1)], {}, [0, 1]),
    ("maximum", "Maximum", [u(3, 4), u(4)], {}, [0, 1]),
    ("minimum", "Minimum", [u(3, 4), u(4)], {}, [0, 1]),
    ("pow", "Pow", [u(3, 4, low=0.5, high=2.0), u(4, low=-2.0, high=2.0)], {}, [0, 1]),
    ("bias-add", "BiasAdd", [u(2, 3, 4, 5), u(5)], NHWC, [0, 1]),
    ("bias-add-nchw", "BiasAdd", [u(2, 5, 3, 4), u(5)], {"data_format": "NCHW"}, [0, 1]),
    ("add-n", "AddN", [u(3, 4), u(3, 4), u(3, 4)], {"N": 3}, [0, 1, 2]),
    *[(f"matmul-{ta:d}{tb:d}", "MatMul", [u(*((4, 3) if ta else (3, 4))), u(*((5, 4) if tb else (4, 5)))],
       {"transpose_a": ta, "transpose_b": tb}, [0, 1]) for ta in (False, True) for tb in (False, True)],
    ("batch-matmul-broadcast", "BatchMatMulV2", [u(2, 3, 4), u(4, 5)], {}, [0, 1]),
    ("batch-matmul-adj", "BatchMatMulV2", [u(2, 4, 3), u(1, 5, 4)], {"adj_x": True, "adj_y": True}, [0, 1]),
    ("transpose", "Transpose", [u(2, 3, 4), const(i32([2, 0, 1]))], {}, [0]),
    *[(op.lower(), op, [u(3, 5, low=-8.0, high=8.0)], {}, [0])
      for op in ("Relu", "Relu6", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Softsign", "Neg", "Abs",
                 "Square", "Erf", "Exp", "Identity")],
    ("leaky-relu", "LeakyRelu", [u(3, 5)], {"alpha": 0.3}, [0]),
    *[(op.lower(), op, [u(3, 5, low=0.2, high=4.0)], {}, [0]) for op in ("Log", "Log1p", "Sqrt", "Rsqrt",
                                                                            "Reciprocal")],
    ("clip", "ClipByValue", [u(4, 5), const(np.float32(-1.0)), const(np.float32(1.5))], {}, [0]),
    ("softmax", "Softmax", [u(3, 6)], {}, [0]),
    ("lrn", "LRN", [u(2, 3, 2, 6)], {"depth_radius": 2, "bias": 1.5, "alpha": 0.3, "beta": 0.75}, [0]),
    ("log-softmax", "LogSoftmax", [u(2, 3, 6)], {}, [0]),
    ("sum", "Sum", [u(2, 3, 4), const(i32([0, 2]))], {"keep_dims": False}, [0]),
    ("sum-keep", "Sum", [u(2, 3, 4), const(i32([1]))], {"keep_dims": True}, [0]),
    ("mean", "Mean", [u(2, 3, 4), const(i32([-1]))], {"keep_dims": False}, [0]),
    ("mean-all", "Mean", [u(2, 3, 4), const(i32([0, 1, 2]))], {"keep_dims": True}, [0]),
    ("max", "Max", [u(2, 3, 4), const(i32([1, 2]))], {"keep_dims": False}, [0]),
    ("reshape", "Reshape", [u(2, 3, 4), const(i32([4, -1]))], {}, [0]),
    ("expand-dims", "ExpandDims", [u(2, 3), const(i32(1))], {}, [0]),
    ("squeeze", "Squeeze", [u(2, 1, 3)], {"squeeze_dims": [1]}, [0]),
    ("broadcast-to", "BroadcastTo", [u(3, 1), const(i32([2, 3, 4]))], {}, [0]),
    ("tile", "Tile", [u(2, 3), const(i32([2, 3]))], {}, [0]),
    ("pad", "Pad", [u(2, 3), const(i32([[1, 0], [2, 1]]))], {}, [0]),
    ("slice", "Slice", [u(4, 5), const(i32([1, 2])), const(i32([2, 3]))], {}, [0]),
    ("concat", "ConcatV2", [u(2, 3), u(2, 2), const(i32(1))], {"N": 2}, [0, 1]),
    ("gather", "GatherV2", [u(5, 3), const(i32([[0, 4], [4, 2]])), const(i32(0))], {}, [0]),
    ("cast", "Cast", [u(3, 4)], {"DstT": "float32"}, [0]),
    ("pack", "Pack", [u(2, 3), u(2, 3), u(2, 3)], {"axis": 1, "N": 3}, [0, 2]),
    ("reverse", "ReverseV2", [u(2, 3, 4), const(i32([0, 2]))], {}, [0]),
    ("select", "SelectV2", [lambda rng: rng.uniform(size=(3, 1)) > 0.5, u(3, 4), u(4)], {}, [1, 2]),
    *[(f"conv2d-{pad}-s{s}-d{d}", "Conv2D", [u(2, 7, 6, 3), u(3, 3, 3, 4)], conv_attrs((s, s), (d, d), pad, None),
       [0, 1]) for pad, s, d in (("SAME", 1, 1), ("VALID", 2, 1), ("SAME", 2, 1), ("VALID", 1, 2))],
    ("conv2d-explicit", "Conv2D", [u(1, 5, 5, 2), u(2, 3, 2, 3)],
     conv_attrs((1, 2), (1, 1), "EXPLICIT", [(1, 0), (2, 1)]), [0, 1]),
    *[(f"depthwise-{pad}-s{s}", "DepthwiseConv2dNative", [u(2, 7, 6, 3), u(3, 3, 3, 2)],
       conv_attrs((s, s), (1, 1), pad, None), [0, 1]) for pad, s in (("SAME", 1), ("VALID", 2))],
    ("conv3d", "Conv3D", [u(1, 4, 5, 4, 2), u(2, 3, 2, 2, 3)],
     {"strides": [1, 1, 2, 1, 1], "dilations": [1, 1, 1, 1, 1], "padding": "SAME"}, [0, 1]),
    *[(f"resize-{op[6:].lower()}-{mode}", op, [u(2, 3, 4, 2), const(i32(size))],
       {"align_corners": mode == "corners", "half_pixel_centers": mode == "half"}, [0])
      for op in ("ResizeBilinear", "ResizeNearestNeighbor") for mode in ("half", "corners", "plain")
      for size in ([7, 5],)],
    ("resize-bilinear-down", "ResizeBilinear", [u(2, 7, 6, 2), const(i32([3, 4]))], {"half_pixel_centers": True}, [0]),
    ("einsum-dot", "Einsum", [u(3, 4, 5), u(3, 4, 2)], {"equation": "abc,abd->acd", "N": 2}, [0, 1]),
    ("einsum-matmul", "Einsum", [u(3, 4), u(4, 5)], {"equation": "ij,jk->ik", "N": 2}, [0, 1]),
    ("conv2d-backprop-input", "Conv2DBackpropInput", [const(i32([2, 7, 6, 3])), u(3, 3, 3, 4), u(2, 4, 3, 4)],
     conv_attrs((2, 2), (1, 1), "SAME", None), [1, 2]),
    *[(f"{op.lower()}-{pad}-s{s}", op, [u(2, 7, 6, 3)], pool_attrs(k, s, pad), [0])
      for op in ("MaxPool", "AvgPool") for pad, k, s in (("VALID", 2, 2), ("SAME", 3, 2), ("SAME", 3, 1))],
    *[(f"{op.lower()}", op, [u(1, 4, 5, 4, 2)], pool_attrs(2, 2, "SAME", rank=5), [0])
      for op in ("MaxPool3D", "AvgPool3D")],
]


def engine_gradients(backend: str, op: str, inputs: list[np.ndarray], attrs: dict, wrt: list[int],
                     dy: np.ndarray | Callable) -> list[np.ndarray]:
    """The op on `backend` (inputs on the GPU for webgl, so its GL kernel runs) under a tape."""
    impl = engine.get_backend(backend)
    tensors = [to_tensor(x) for x in inputs]
    if backend == "webgl":
        for tensor in tensors:
            if tensor.size:
                impl.texture_of(tensor)
    tape = GradientTape()
    with tape:
        tape.watch(*[tensors[i] for i in wrt])
        y = impl.run(op, tensors, attrs)[0]
    grads = tape.gradient(y, [tensors[i] for i in wrt], output_gradient=to_tensor(dy(y.shape)))
    return [g.numpy() for g in grads]


def tf_gradients(op: str, inputs: list[np.ndarray], attrs: dict, wrt: list[int], dy: Callable) -> list[np.ndarray]:
    t = tf()
    tensors = [t.constant(x) for x in inputs]
    with t.GradientTape() as tape:
        for i in wrt:
            tape.watch(tensors[i])
        y = call_raw_op(op, tensors, attrs)
    grads = tape.gradient(y, [tensors[i] for i in wrt], output_gradients=t.constant(dy(tuple(y.shape))))
    return [t.convert_to_tensor(g).numpy() for g in grads]  # a gather's gradient comes as IndexedSlices


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_tensorflow(backend, rng, case):
    _, op, makers, attrs, wrt = case
    inputs = [make(rng) for make in makers]
    seed = int(rng.integers(1 << 30))

    def dy(shape):
        return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
    got = engine_gradients(backend, op, inputs, attrs, wrt, dy)
    want = tf_gradients(op, inputs, attrs, wrt, dy)
    for index, g, w in zip(wrt, got, want):
        assert_close(g, w, rtol=1e-4, atol=1e-5, what=f"d{op}/d input {index} on {backend}")


FUSED_ACTIVATIONS = [None, "Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu"]


def _tf_activation(name: str | None, y):
    t = tf()
    return {None: lambda v: v, "Relu": t.nn.relu, "Relu6": t.nn.relu6, "Elu": t.nn.elu, "Sigmoid": t.math.sigmoid,
            "Tanh": t.math.tanh, "LeakyRelu": lambda v: t.nn.leaky_relu(v, alpha=0.3)}[name](y)


@pytest.mark.parametrize("op", ["_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul"])
@pytest.mark.parametrize("activation", FUSED_ACTIVATIONS)
def test_fused_op_gradients_match_the_ops_they_fuse(backend, rng, op, activation):
    """The fused ops (what conv layers with a bias emit) against TensorFlow's separate ops."""
    t = tf()
    if op == "_FusedMatMul":
        x, w, attrs = rng.uniform(-2, 2, (4, 6)), rng.uniform(-1, 1, (6, 5)), {}
    else:
        attrs = conv_attrs((2, 2), (1, 1), "SAME", None)
        x, w = rng.uniform(-2, 2, (2, 6, 5, 3)), rng.uniform(-1, 1, (3, 3, 3, 2 if "Depthwise" in op else 4))
    channels = 5 if op == "_FusedMatMul" else w.shape[2] * w.shape[3] if "Depthwise" in op else w.shape[3]
    inputs = [a.astype(np.float32) for a in (x, w, rng.uniform(-1, 1, channels))]
    attrs.update(fused_ops=["BiasAdd"] + ([activation] if activation else []), leakyrelu_alpha=0.3, num_args=1)
    seed = int(rng.integers(1 << 30))

    def dy(shape):
        return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
    got = engine_gradients(backend, op, inputs, attrs, [0, 1, 2], dy)
    tensors = [t.constant(a) for a in inputs]
    with t.GradientTape() as tape:
        tape.watch(tensors)
        if op == "_FusedMatMul":
            product = t.matmul(tensors[0], tensors[1])
        elif op == "_FusedConv2D":
            product = t.nn.conv2d(tensors[0], tensors[1], strides=2, padding="SAME")
        else:
            product = t.nn.depthwise_conv2d(tensors[0], tensors[1], strides=[1, 2, 2, 1], padding="SAME")
        y = _tf_activation(activation, t.nn.bias_add(product, tensors[2]))
    want = tape.gradient(y, tensors, output_gradients=t.constant(dy(tuple(y.shape))))
    for index, g, w in zip(range(3), got, want):
        assert_close(g, w.numpy(), rtol=1e-4, atol=1e-5, what=f"d{op}/d input {index} on {backend}")


def test_gradients_of_a_composition_sum_every_path(backend, rng):
    """y = relu(x @ w) + x @ w: w's gradient adds both paths; a watched tensor the target does not
    depend on gets None."""
    x, w = to_tensor(rng.uniform(-1, 1, (3, 4)).astype(np.float32)), to_tensor(rng.uniform(-1, 1, (4, 2)).astype(
        np.float32))
    unused = to_tensor(np.ones(3, np.float32))
    ops = engine.get_backend(backend)

    def loss():
        product = ops.run("MatMul", [x, w], {})[0]
        both = ops.run("AddV2", [ops.run("Relu", [product], {})[0], product], {})[0]
        return ops.run("Sum", [both, to_tensor(i32([0, 1]))], {})[0]
    value, (dw, d_unused) = engine.autodiff.gradients(loss, [w, unused])
    product = x.numpy() @ w.numpy()
    np.testing.assert_allclose(value.numpy(), (np.maximum(product, 0) + product).sum(), rtol=1e-5)
    np.testing.assert_allclose(dw.numpy(), x.numpy().T @ ((product > 0) + 1.0), rtol=1e-5)
    assert d_unused is None


def test_clear_errors(rng):
    tape = GradientTape()
    w = to_tensor(np.ones((2, 2), np.float32))
    with pytest.raises(GradientError, match="float32"):
        tape.watch(to_tensor(i32([1])))
    with tape:
        tape.watch(w)
        y = engine.get_backend("cpu").run("Cumsum", [w, to_tensor(i32(0))], {})[0]
        with pytest.raises(GradientError, match="after the tape"):
            tape.gradient(y, [w])
    with pytest.raises(GradientError, match="no gradient is defined for op Cumsum"):
        tape.gradient(y, [w])
    with pytest.raises(GradientError, match="once"):
        tape.gradient(y, [w])


def test_prelu_gradient(backend, rng):
    """TF.js's Prelu (no TensorFlow op): against relu(x) - alpha * relu(-x) in TensorFlow."""
    t = tf()
    x, alpha = rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32), rng.uniform(0, 1, (4,)).astype(np.float32)
    dy = rng.uniform(-1, 1, x.shape).astype(np.float32)
    got = engine_gradients(backend, "Prelu", [x, alpha], {}, [0, 1], lambda shape: dy)
    tensors = [t.constant(x), t.constant(alpha)]
    with t.GradientTape() as tape:
        tape.watch(tensors)
        y = t.nn.relu(tensors[0]) - tensors[1] * t.nn.relu(-tensors[0])
    for g, w in zip(got, tape.gradient(y, tensors, output_gradients=t.constant(dy))):
        assert_close(g, w.numpy(), rtol=1e-5, atol=1e-6, what=f"dPrelu on {backend}")
