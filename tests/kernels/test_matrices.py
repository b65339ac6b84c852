"""Matrix ops against tf.raw_ops (a composed TensorFlow reference for _FusedMatMul):
transposes/adjoints, batch broadcasting, dtypes, empty tensors, NaN/Inf."""
import numpy as np
import pytest

from tests.kernels.harness import (ACTIVATION_EDGES, FUSED_ACTIVATIONS, LEAKYRELU_ALPHA, PRELU_ALPHA, assert_close,
                                   assert_rejects, check, check_fused_activation, rand, run_engine, run_on_gpu, tf)

pytestmark = pytest.mark.tf

MATMUL_SHAPES = [((3, 4), (4, 5)), ((1, 7), (7, 1)), ((0, 4), (4, 5)), ((3, 0), (0, 5)), ((3, 4), (4, 0))]


def _stored_as(a: np.ndarray, transposed: bool, axes=(-1, -2)) -> np.ndarray:
    """The operand as the op receives it when its transpose flag is set."""
    return np.ascontiguousarray(np.swapaxes(a, *axes)) if transposed else a


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("transpose_a,transpose_b", [(False, False), (True, False), (False, True), (True, True)])
def test_mat_mul(backend, rng, shapes, transpose_a, transpose_b):
    a = _stored_as(rand(rng, shapes[0], specials=True), transpose_a)
    b = _stored_as(rand(rng, shapes[1]), transpose_b)
    check(backend, "MatMul", [a, b], {"transpose_a": transpose_a, "transpose_b": transpose_b})


@pytest.mark.parametrize("dtype", ["int32", "complex64"])
def test_mat_mul_dtypes(backend, rng, dtype):
    a, b = rand(rng, (3, 4), dtype, -5, 5), rand(rng, (5, 4), dtype, -5, 5)
    check(backend, "MatMul", [a, b], {"transpose_b": True}, allow_fallback=dtype == "complex64")


@pytest.mark.parametrize("op", ["BatchMatMul", "BatchMatMulV2"])
@pytest.mark.parametrize("adj_x,adj_y", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_batch_mat_mul(backend, rng, op, adj_x, adj_y, dtype):
    """Complex operands check that adj_x/adj_y conjugate as well as transpose (complex stays on the CPU)."""
    x = _stored_as(rand(rng, (2, 3, 4, 5), dtype, specials=True), adj_x)
    y = _stored_as(rand(rng, (2, 3, 5, 6), dtype), adj_y)
    complex_ = dtype == "complex64"
    check(backend, op, [x, y], {"adj_x": adj_x, "adj_y": adj_y}, allow_fallback=complex_)
    check(backend, op, [x[:, :0], y[:, :0]], {"adj_x": adj_x, "adj_y": adj_y}, allow_fallback=complex_)


@pytest.mark.parametrize("shapes", [((2, 1, 3, 4), (5, 4, 6)), ((3, 4), (2, 4, 5)), ((4, 1, 3, 4), (1, 4, 2)),
                                    ((0, 3, 4), (1, 4, 2)), ((2, 3, 4), (4, 5))], ids=str)
def test_batch_mat_mul_v2_broadcasts(backend, rng, shapes):
    x, y = rand(rng, shapes[0]), rand(rng, shapes[1])
    check(backend, "BatchMatMulV2", [x, y])
    check(backend, "BatchMatMulV2", [x.astype(np.int32), y.astype(np.int32)], {"adj_x": False})
    check(backend, "BatchMatMulV2", [_stored_as(x, True), y], {"adj_x": True})


ACTIVATIONS = {
    "Relu": lambda t, alpha: tf().nn.relu(t),
    "Relu6": lambda t, alpha: tf().nn.relu6(t),
    "Elu": lambda t, alpha: tf().nn.elu(t),
    "Sigmoid": lambda t, alpha: tf().math.sigmoid(t),
    "Tanh": lambda t, alpha: tf().math.tanh(t),
    "LeakyRelu": lambda t, alpha: tf().nn.leaky_relu(t, alpha=0.3),
    "Prelu": lambda t, alpha: tf().nn.relu(t) - alpha * tf().nn.relu(-t),  # as Keras' PReLU layer
}


@pytest.mark.parametrize("activation", [None, *ACTIVATIONS])
@pytest.mark.parametrize("transpose_a,transpose_b", [(False, False), (True, True)])
def test_fused_mat_mul(backend, rng, activation, transpose_a, transpose_b):
    a = _stored_as(rand(rng, (6, 8), specials=True), transpose_a)
    b = _stored_as(rand(rng, (8, 5)), transpose_b)
    bias, alpha = rand(rng, (5,)), rand(rng, (5,), low=0.0, high=1.0)
    args = [bias, alpha] if activation == "Prelu" else [bias]
    attrs = {"transpose_a": transpose_a, "transpose_b": transpose_b, "num_args": len(args), "epsilon": 1e-4,
             "fused_ops": ["BiasAdd"] + ([activation] if activation else []), "leakyrelu_alpha": 0.3}

    def reference(a, b, bias, alpha=None):
        out = tf().nn.bias_add(tf().linalg.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b), bias)
        return ACTIVATIONS[activation](out, alpha) if activation else out

    check(backend, "_FusedMatMul", [a, b, *args], attrs, reference=reference)


def test_fused_mat_mul_prelu_without_bias(backend, rng):
    """TF.js also fuses a lone activation: its Prelu alpha is then the first extra input."""
    a, b, alpha = rand(rng, (4, 3)), rand(rng, (3, 5)), rand(rng, (5,), low=0.0, high=1.0)
    check(backend, "_FusedMatMul", [a, b, alpha], {"fused_ops": ["Prelu"], "num_args": 1},
          reference=lambda a, b, alpha: ACTIVATIONS["Prelu"](a @ b, alpha))


@pytest.mark.parametrize("activation", FUSED_ACTIVATIONS)
def test_fused_mat_mul_activation_matches_standalone_op(backend, activation):
    """A column times [[1]] plus a zero bias leaves the activation alone: at tiny, huge, NaN and
    infinite inputs it must give what the standalone op and TensorFlow give."""
    x = ACTIVATION_EDGES
    args = [np.zeros(1, np.float32)] + ([PRELU_ALPHA] if activation == "Prelu" else [])
    attrs = {"fused_ops": ["BiasAdd", activation], "num_args": len(args), "leakyrelu_alpha": LEAKYRELU_ALPHA}
    fused = run_on_gpu(backend, "_FusedMatMul", [x.reshape(-1, 1), np.ones((1, 1), np.float32), *args], attrs)[0]
    check_fused_activation(backend, activation, fused, x)


@pytest.mark.parametrize("shape,perm", [((2, 3, 4), [2, 0, 1]), ((2, 3), [1, 0]), ((), []), ((0, 3, 1), [1, 2, 0]),
                                        ((2, 3, 4, 5), [0, 3, 1, 2])], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "string"])
def test_transpose(backend, rng, shape, perm, dtype):
    x = rand(rng, shape, dtype, specials=True)
    strings = dtype == "string"  # strings stay on the CPU
    check(backend, "Transpose", [x, np.array(perm, np.int32)], allow_fallback=strings)
    check(backend, "Transpose", [x, np.array(perm, np.int64)], allow_fallback=strings)


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ij->ji", [(3, 4)]),
    ("ii->i", [(4, 4)]),
    ("ij->", [(3, 4)]),
    ("i,i->", [(6,), (6,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk->ik", [(0, 4), (4, 5)]),
], ids=lambda v: v if isinstance(v, str) else None)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_einsum(backend, rng, equation, shapes, dtype):
    inputs = [rand(rng, shape, dtype, -4, 4) for shape in shapes]
    # diagonals (a label repeated in one operand) are left to the CPU
    check(backend, "Einsum", inputs, {"equation": equation, "N": len(inputs)}, allow_fallback=equation == "ii->i")


def test_einsum_three_operands(backend, rng):
    """The Einsum op TensorFlow runs takes at most two operands (tf.einsum splits longer equations)."""
    inputs = [rand(rng, (2, 3, 4)), rand(rng, (4, 5)), rand(rng, (5, 2))]
    check(backend, "Einsum", inputs, {"equation": "abc,cd,de->abe", "N": 3},
          reference=lambda *xs: tf().einsum("abc,cd,de->abe", *xs), allow_fallback=True)


def test_einsum_nan_inf(backend, rng):
    inputs = [rand(rng, (3, 4), specials=True), rand(rng, (4, 5))]
    check(backend, "Einsum", inputs, {"equation": "ij,jk->ik", "N": 2})


@pytest.mark.parametrize("num_lower,num_upper", [(-1, -1), (0, 0), (1, -1), (-1, 2), (0, -1), (2, 1)])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 5), (2, 6, 3), (0, 3, 3), (3, 2)], ids=str)
def test_matrix_band_part(backend, rng, num_lower, num_upper, shape):
    x = rand(rng, shape, specials=True)
    check(backend, "MatrixBandPart", [x, np.int64(num_lower), np.int64(num_upper)])
    check(backend, "MatrixBandPart", [rand(rng, shape, "bool"), np.int32(num_lower), np.int32(num_upper)])


def test_matrix_band_part_rejects_bounds_beyond_the_matrix(backend):
    assert_rejects(backend, "MatrixBandPart", [np.zeros((3, 2), np.float32), np.int32(0), np.int32(3)])


# -- WebGL concerns: tensors wider than a texture row, odd sizes, long shared dims, broadcast batches ---------
def test_mat_mul_wide_and_long(backend, rng):
    """A (3, 20001) product is wider than GL_MAX_TEXTURE_SIZE, so it lies in a near-square texture;
    a 5000-long shared dim is one fragment's loop; int32 products stay exact (within 2^24)."""
    check(backend, "MatMul", [rand(rng, (3, 7)), rand(rng, (7, 20001))])
    a, b = rand(rng, (5000, 5), specials=True), rand(rng, (3, 5000))
    check(backend, "MatMul", [a, b], {"transpose_a": True, "transpose_b": True})
    a, b = rand(rng, (9, 3000), "int32", -3, 3), rand(rng, (3000, 11), "int32", -3, 3)
    check(backend, "MatMul", [a, b])


@pytest.mark.parametrize("shapes,adj_x,adj_y", [
    (((3, 1, 33, 17), (1, 4, 17, 29)), False, False),
    (((3, 1, 17, 33), (4, 29, 17)), True, True),
    (((2, 3, 1, 5, 4), (4, 6)), False, False),
    (((1, 1, 1, 2, 4, 3), (3, 2, 1, 1, 3, 5)), False, False),
], ids=str)
def test_batch_mat_mul_v2_broadcast_odd_sizes(backend, rng, shapes, adj_x, adj_y):
    """Batch dims broadcast in any pattern (ranks up to 6), operands transposed in place."""
    x, y = rand(rng, shapes[0], specials=True), rand(rng, shapes[1])
    check(backend, "BatchMatMulV2", [x, y], {"adj_x": adj_x, "adj_y": adj_y})
    xi, yi = rand(rng, shapes[0], "int32", -4, 4), rand(rng, shapes[1], "int32", -4, 4)
    check(backend, "BatchMatMulV2", [xi, yi], {"adj_x": adj_x, "adj_y": adj_y})


@pytest.mark.parametrize("bias_shape", [(1, 7), (5, 7), (5, 1), ()], ids=str)
def test_fused_mat_mul_bias_shapes(backend, rng, bias_shape):
    """The official converter emits rank-2 biases; any shape broadcasting onto the product works,
    also with TF's residual 'Add' after the bias and with rank-2 PReLU weights."""
    a, b, bias = rand(rng, (5, 9), specials=True), rand(rng, (9, 7)), rand(rng, bias_shape)
    addend, alpha = rand(rng, (5, 7)), rand(rng, (1, 7), low=0.0, high=1.0)
    mm = lambda a, b: tf().linalg.matmul(a, b)  # noqa: E731
    check(backend, "_FusedMatMul", [a, b, bias], {"fused_ops": ["BiasAdd", "LeakyRelu"], "leakyrelu_alpha": 0.1},
          reference=lambda a, b, bias: tf().nn.leaky_relu(mm(a, b) + bias, alpha=0.1))
    check(backend, "_FusedMatMul", [a, b, bias, addend], {"fused_ops": ["BiasAdd", "Add", "Relu6"]},
          reference=lambda a, b, bias, addend: tf().nn.relu6(mm(a, b) + bias + addend))
    check(backend, "_FusedMatMul", [a, b, bias, alpha], {"fused_ops": ["BiasAdd", "Prelu"]},
          reference=lambda a, b, bias, alpha: ACTIVATIONS["Prelu"](mm(a, b) + bias, alpha))


@pytest.mark.parametrize("shapes", [
    ((2, 3, 4), (2, 4, 5), (5,)),             # batched, per-channel bias
    ((2, 1, 3, 4), (5, 4, 6), (1, 6)),        # batch dims broadcast both ways, rank-2 bias
    ((3, 4), (2, 4, 5), (2, 1, 5)),           # a matrix times a batch, a bias per batch
    ((2, 3, 3, 4), (4, 5), (2, 1, 3, 5)),     # a batch times a matrix, a bias broadcast over one batch dim
    ((0, 3, 4), (1, 4, 2), (2,)),             # an empty batch
], ids=str)
@pytest.mark.parametrize("transpose_a,transpose_b", [(False, False), (True, True)])
@pytest.mark.parametrize("activation", ["Relu", "Prelu", "LeakyRelu"])
def test_fused_mat_mul_batched(backend, rng, shapes, transpose_a, transpose_b, activation):
    """As TF.js's fused matMul: rank 3+ operands with broadcast batch dims, transposes of their last
    two dims, extra inputs broadcast onto the product."""
    a = _stored_as(rand(rng, shapes[0], specials=True), transpose_a)
    b = _stored_as(rand(rng, shapes[1]), transpose_b)
    bias, alpha = rand(rng, shapes[2]), rand(rng, shapes[2], low=0.0, high=1.0)
    args = [bias, alpha] if activation == "Prelu" else [bias]
    attrs = {"transpose_a": transpose_a, "transpose_b": transpose_b, "fused_ops": ["BiasAdd", activation],
             "num_args": len(args), "leakyrelu_alpha": 0.3}

    def reference(a, b, bias, alpha=None):
        return ACTIVATIONS[activation](tf().linalg.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
                                       + bias, alpha)

    check(backend, "_FusedMatMul", [a, b, *args], attrs, reference=reference)


def test_fused_mat_mul_batched_residual_add(backend, rng):
    """TF's residual 'Add' after the bias: a full-size addend of the batched product."""
    a, b, bias, addend = rand(rng, (2, 3, 5, 4)), rand(rng, (3, 4, 6)), rand(rng, (6,)), rand(rng, (2, 3, 5, 6))
    check(backend, "_FusedMatMul", [a, b, bias, addend], {"fused_ops": ["BiasAdd", "Add", "Relu6"]},
          reference=lambda a, b, bias, addend: tf().nn.relu6(tf().linalg.matmul(a, b) + bias + addend))


def test_fused_mat_mul_batched_rejects_mismatches(backend, rng):
    a, b = rand(rng, (2, 3, 4)), rand(rng, (3, 4, 5))
    assert_rejects(backend, "_FusedMatMul", [a, b, rand(rng, (5,))], {"fused_ops": ["BiasAdd"]})
    assert_rejects(backend, "_FusedMatMul", [a, rand(rng, (2, 4, 5)), rand(rng, (3, 3, 5))], {"fused_ops": ["BiasAdd"]})
    assert_rejects(backend, "_FusedMatMul", [rand(rng, (4,)), rand(rng, (4, 5)), rand(rng, (5,))],
                   {"fused_ops": ["BiasAdd"]}, match="matrices or batches of them")


def test_fused_mat_mul_batch_norm_runs_on_the_cpu(backend, rng):
    """A fused batch norm is not part of the GL epilogue: the GL kernel hands the op to the CPU."""
    a, b = rand(rng, (12, 9)), rand(rng, (9, 12))
    scale, offset, mean = rand(rng, (12,)), rand(rng, (12,)), rand(rng, (12,))
    variance = rand(rng, (12,), low=0.5, high=2.0)

    def reference(a, b, scale, offset, mean, variance):
        product = tf().linalg.matmul(a, b)
        return tf().nn.relu((product - mean) * scale / np.sqrt(variance + 1e-3) + offset)

    check(backend, "_FusedMatMul", [a, b, scale, offset, mean, variance],
          {"fused_ops": ["FusedBatchNorm", "Relu"], "epsilon": 1e-3}, reference=reference, allow_fallback=True)


@pytest.mark.parametrize("shape,perm", [
    ((3, 20000), [1, 0]),                                  # wider than a texture row
    ((2, 3, 1, 4, 5, 2), [5, 3, 0, 4, 2, 1]),              # rank 6
    ((3, 1, 4, 2, 5), [4, 0, 3, 1, 2]),                    # rank 5 with a unit dim
    ((2, 1, 3, 2, 1, 4, 5, 2), [0, 1, 6, 7, 2, 3, 4, 5]),  # rank 8, collapses to 3 dims
    ((7, 13, 11), [0, 2, 1]),
], ids=str)
def test_transpose_ranks_and_sizes(backend, rng, shape, perm):
    for dtype in ("float32", "int32", "bool"):
        check(backend, "Transpose", [rand(rng, shape, dtype, -1000, 1000, specials=True), np.array(perm, np.int32)])


@pytest.mark.parametrize("equation,shapes", [
    ("abc,cbd->da", [(3, 4, 5), (5, 4, 6)]),   # both operands transposed, two contracted labels
    ("ij,jk->k", [(3, 4), (4, 5)]),            # a label summed away before the product
    ("bqhd,bkhd->bhqk", [(2, 3, 2, 4), (2, 5, 2, 4)]),
    ("...d,d->...", [(2, 3, 4), (4,)]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_einsum_mapped_onto_gl_kernels(backend, rng, equation, shapes):
    inputs = [rand(rng, shape) for shape in shapes]
    check(backend, "Einsum", inputs, {"equation": equation, "N": len(inputs)})


def test_matrix_band_part_odd_sizes(backend, rng):
    x = rand(rng, (3, 150, 131), specials=True)
    for lower, upper in ((5, 7), (-1, 0), (149, -1)):
        check(backend, "MatrixBandPart", [x, np.int64(lower), np.int64(upper)])
    check(backend, "MatrixBandPart", [rand(rng, (150, 131), "int32", -9, 9), np.int32(3), np.int32(-1)])


def test_shared_dim_longer_than_a_driver_loop(backend, rng):
    """llvmpipe stops a fragment's loops after 65535 iterations: longer products are summed in slices."""
    a, b = rand(rng, (2, 70001), low=-1, high=1), rand(rng, (70001, 3), low=-1, high=1)
    check(backend, "MatMul", [a, b], rtol=1e-4)
    bias = rand(rng, (3,))
    got = run_engine(backend, "_FusedMatMul", [a, b, bias], {"fused_ops": ["BiasAdd", "Relu"], "num_args": 1})[0]
    assert_close(got, np.maximum(a.astype(np.float64) @ b + bias, 0), rtol=1e-4)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (3, 1, 2), (1,), (0,), (2, 0)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_diag(backend, rng, shape, dtype):
    check(backend, "Diag", [rand(rng, shape, dtype, -5, 5, specials=True)])


def test_diag_rejects_a_scalar(backend):
    assert_rejects(backend, "Diag", [np.float32(2)], match="at least rank 1")


def test_diag_refuses_an_output_past_the_limits(backend):
    from engine.errors import ResourceLimitError
    with pytest.raises(ResourceLimitError):
        run_engine(backend, "Diag", [np.zeros(1 << 17, np.float32)])
