"""The packed layout (WEBGL_PACK: 2x2 values per RGBA texel): uploads, pack/unpack programs and
reshapes between packed shapes keep every value, including odd rows and cols."""
import numpy as np
import pytest

import engine
from engine.tensors import Tensor, alias
from engine.webgl.textures import same_packing

pytestmark = pytest.mark.webgl

SHAPES = [(), (1,), (5,), (3, 5), (4, 6), (2, 3, 7), (1, 7, 7, 3), (2, 4, 6, 8)]


@pytest.fixture
def backend(webgl):
    return engine.backends.webgl.backend_for_thread()


@pytest.mark.parametrize("shape", SHAPES)
def test_packed_upload_pack_and_unpack_round_trip(backend, shape, rng):
    values = rng.normal(size=shape).astype(np.float32)
    with backend.current():
        uploaded = backend._upload(values, "float32", packed=True)
        np.testing.assert_array_equal(uploaded.download().reshape(shape), values)
        unpacked_source = Tensor(values, "float32")
        packed = backend.texture_of(unpacked_source, packed=False) and backend.texture_of(unpacked_source, True)
        assert packed.packed and packed.packed_shape == packed_shape_of(shape)
        np.testing.assert_array_equal(packed.download().reshape(shape), values)
        twin = backend._in_layout(uploaded, shape, False)
        assert not twin.packed
        np.testing.assert_array_equal(twin.download().reshape(shape), values)
        uploaded.release()


def packed_shape_of(shape):
    from engine.webgl.textures import packed_geometry
    return packed_geometry(shape)


@pytest.mark.parametrize("source, target", [((2, 4, 6), (8, 6)), ((3, 5), (15,)), ((2, 3, 5), (3, 2, 5)),
                                            ((1, 7, 7, 4), (7, 7, 4)), ((4, 6), (6, 4))])
def test_reshape_of_packed_data_reads_right_values(backend, source, target, rng):
    """A reshape shares the texture when the packing agrees, else reads through a converted twin."""
    values = rng.normal(size=source).astype(np.float32)
    with backend.current():
        t = Tensor(values, "float32")
        data = backend.texture_of(t, packed=True)
        view = alias(Tensor(None, "float32", source, device=(data.retain(), data)[1]), target)
        read = backend.texture_of(view, packed=True)
        assert (read is data) == same_packing(source, target)
        np.testing.assert_array_equal(read.download(), values.reshape(-1))
        unpacked = backend.texture_of(view, packed=False)
        np.testing.assert_array_equal(unpacked.download(), values.reshape(-1))


@pytest.mark.parametrize("other_shape", [(13, 21), (), (21,), (13, 1)])
def test_elementwise_ops_on_packed_inputs(backend, other_shape, rng):
    """(Big enough not to be forwarded to the CPU.) Ops whose input is already packed run packed (same shape, scalar,
    last-dim vector) or unpack it (other broadcasts); NaN and Inf flow through as on the CPU."""
    a = rng.normal(size=(13, 16)).astype(np.float32)
    b = rng.normal(size=(16, 21)).astype(np.float32)
    other = rng.normal(size=other_shape).astype(np.float32)
    if other.size > 2:
        other.reshape(-1)[:2] = [np.nan, np.inf]
    [product] = backend.run("MatMul", [Tensor(a, "float32"), Tensor(b, "float32")])
    assert backend.gl_data(product).packed
    [total] = backend.run("AddV2", [product, Tensor(other, "float32")])
    [clipped] = backend.run("Relu6", [total])
    assert backend.gl_data(clipped).packed == (other_shape != (13, 1))
    want = np.clip(a @ b + other, 0, 6)
    want = np.where(np.isnan(a @ b + other), np.nan, want)
    np.testing.assert_allclose(clipped.numpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [3, 8])
def test_elementwise_op_on_a_packed_vector(backend, size, rng):
    """A packed rank-1 output of odd length masks its last texel (a bias updated by an optimizer step)."""
    a, b = (rng.normal(size=size).astype(np.float32) for _ in range(2))
    packed = Tensor(a, "float32")
    backend.texture_of(packed, packed=True)
    [difference] = backend.run("Sub", [packed, Tensor(b, "float32")])
    assert backend.gl_data(difference).packed
    np.testing.assert_allclose(difference.numpy(), a - b, rtol=1e-6)


@pytest.mark.parametrize("kernel, strides, padding", [((1, 1), 1, "VALID"), ((3, 3), 2, "SAME"), ((3, 3), 1, "SAME")])
def test_fused_conv_with_residual_runs_packed(backend, kernel, strides, padding, rng):
    """_FusedConv2D (bias, residual addend, relu6) takes the packed product; values as numpy."""
    x = rng.normal(size=(1, 9, 7, 6)).astype(np.float32)
    w = rng.normal(size=kernel + (6, 10)).astype(np.float32)
    bias = rng.normal(size=10).astype(np.float32)
    out_hw = {("VALID", 1): (9, 7), ("SAME", 1): (9, 7), ("SAME", 2): (5, 4)}[(padding, strides)]
    addend = rng.normal(size=(1, *out_hw, 10)).astype(np.float32)
    attrs = {"strides": [1, strides, strides, 1], "padding": padding, "fused_ops": ["BiasAdd", "Add", "Relu6"],
             "num_args": 2}
    [out] = backend.run("_FusedConv2D", [Tensor(v, "float32") for v in (x, w, bias, addend)], attrs)
    assert backend.gl_data(out).packed
    [want] = engine.backends.get_backend("cpu").run("_FusedConv2D",
                                                    [Tensor(v, "float32") for v in (x, w, bias, addend)], attrs)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


CONVS = [("DepthwiseConv2dNative", (2, 1, 11, 4), (1, 3, 4, 1), (1, 2), "VALID"),
         ("DepthwiseConv2dNative", (2, 3, 12, 4), (3, 3, 4, 1), (2, 2), "SAME"),
         ("DepthwiseConv2dNative", (3, 5, 7, 3), (3, 2, 3, 1), (1, 3), "SAME"),
         ("Conv2D", (2, 1, 9, 5), (1, 1, 5, 3), (1, 1), "VALID"),
         ("Conv2D", (3, 5, 7, 3), (3, 3, 3, 4), (2, 1), "SAME"),
         ("Conv2D", (2, 6, 6, 2), (2, 2, 2, 5), (2, 2), "VALID")]


@pytest.mark.parametrize("op, x_shape, w_shape, strides, padding", CONVS)
def test_packed_convolutions_on_gpu_inputs(backend, op, x_shape, w_shape, strides, padding, rng):
    """Inputs already packed on the GPU (so no small-tensor CPU forwarding), batches and unit dims."""
    x = rng.normal(size=x_shape).astype(np.float32)
    w = rng.normal(size=w_shape).astype(np.float32)
    attrs = {"strides": [1, *strides, 1], "padding": padding}
    x_gl = Tensor(x, "float32")
    backend.texture_of(x_gl, packed=True)
    [out] = backend.run(op, [x_gl, Tensor(w, "float32")], attrs)
    assert backend.gl_data(out).packed
    [want] = engine.backends.get_backend("cpu").run(op, [Tensor(x, "float32"), Tensor(w, "float32")], attrs)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op, x_shape, w_shape, strides, padding", CONVS)
def test_weights_upload_in_the_shape_the_kernel_reads(backend, op, x_shape, w_shape, strides, padding, rng):
    """A weight's first use uploads it packed under the kernel's view of it: the first call draws no
    more than the second (no unpack and repack of the filter), and both give the same values."""
    x_gl = Tensor(rng.normal(size=x_shape).astype(np.float32), "float32")
    backend.texture_of(x_gl, packed=True)
    w = Tensor(rng.normal(size=w_shape).astype(np.float32), "float32")
    attrs = {"strides": [1, *strides, 1], "padding": padding}
    outputs, draws = [], []
    for _ in range(2):
        before = backend.stats.draws
        [out] = backend.run(op, [x_gl, w], attrs)
        draws.append(backend.stats.draws - before)
        outputs.append(out.numpy())
    assert draws[0] == draws[1]
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_tensors_past_max_texture_size_never_give_garbage(backend, rng):
    """With a tiny MAX_TEXTURE_SIZE, packed and unpacked tensors take near-square textures, and
    those that fit no texture run on the CPU: the values stay right either way."""
    a = rng.normal(size=(2, 40, 70)).astype(np.float32)
    b = rng.normal(size=(70, 30)).astype(np.float32)
    saved = backend.max_texture_size
    try:
        for limit in (32, 8):
            backend.max_texture_size = limit
            [out] = backend.run("BatchMatMulV2", [Tensor(a, "float32"), Tensor(b, "float32")])
            [act] = backend.run("Relu6", [out])
            np.testing.assert_allclose(act.numpy(), np.clip(a @ b, 0, 6), rtol=1e-4, atol=1e-4)
            data = backend.gl_data(out)
            assert data is None or max(data.rows, data.cols) <= limit
    finally:
        backend.max_texture_size = saved


POOLS = [("AvgPool", (1, 16, 16, 6), (3, 3), (2, 2), "SAME"), ("AvgPool", (2, 7, 7, 5), (2, 2), (2, 2), "SAME"),
         ("MaxPool", (2, 9, 7, 5), (2, 2), (1, 1), "VALID"), ("MaxPool", (1, 8, 9, 3), (3, 3), (1, 1), "SAME"),
         ("AvgPool", (1, 5, 6, 3), (5, 6), (1, 1), "VALID"), ("MaxPool", (1, 3, 4, 2), (4, 5), (2, 3), "SAME")]


@pytest.mark.tf
@pytest.mark.parametrize("op, x_shape, ksize, strides, padding", POOLS)
def test_pools_of_packed_inputs_run_packed(backend, op, x_shape, ksize, strides, padding, rng):
    """A pool whose input is packed on the GPU draws one packed program (no unpack first): TensorFlow's
    values, NaN skipped by MaxPool and infinities kept, odd widths and channel counts included."""
    import tensorflow as tf
    x = rng.normal(size=x_shape).astype(np.float32)
    x.reshape(-1)[[0, 5, 9, 13]] = [np.nan, np.inf, -np.inf, -0.0]
    attrs = {"ksize": [1, *ksize, 1], "strides": [1, *strides, 1], "padding": padding}
    x_gl = Tensor(x, "float32")
    backend.texture_of(x_gl, packed=True)
    draws = backend.stats.draws
    [out] = backend.run(op, [x_gl], attrs)
    assert backend.gl_data(out).packed and backend.stats.draws - draws == 1
    want = (tf.raw_ops.AvgPool(value=x, **attrs) if op == "AvgPool" else tf.raw_ops.MaxPool(input=x, **attrs)).numpy()
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6, atol=1e-6, equal_nan=True)
