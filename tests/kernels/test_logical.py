"""Logical ops against tf.raw_ops: comparisons on every dtype, broadcasting, empty tensors, Select/SelectV2."""
import numpy as np
import pytest

from tests.kernels.harness import assert_rejects, check, rand, tf

pytestmark = pytest.mark.tf

COMPARISONS = ["Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"]
SHAPES = [((2, 3), (2, 3)), ((4, 1, 5), (3, 1)), ((), (7,)), ((0, 3), (1, 3))]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("op", COMPARISONS)
def test_compare_float(backend, rng, op, shapes):
    a = rand(rng, shapes[0], specials=True)
    b = rand(rng, shapes[1], specials=True)
    b.reshape(-1)[: min(a.size, b.size)] = a.reshape(-1)[: min(a.size, b.size)]  # some equal pairs
    check(backend, op, [a, b])


@pytest.mark.parametrize("op", COMPARISONS)
def test_compare_int(backend, rng, op):
    check(backend, op, [rand(rng, (3, 4), "int32", -3, 3), rand(rng, (4,), "int32", -3, 3)])


@pytest.mark.parametrize("dtype", ["string", "bool", "complex64", "int64"])
@pytest.mark.parametrize("op", ["Equal", "NotEqual"])
def test_equality_other_dtypes(backend, rng, op, dtype):
    a = rand(rng, (3, 4), dtype, -1, 1)
    b = rand(rng, (4,), dtype, -1, 1)
    if dtype == "complex64":
        b = a[1].copy()
    # complex tensors live on the GPU as two textures, but comparing them runs the CPU kernel
    check(backend, op, [a, b], allow_fallback=dtype == "complex64")


@pytest.mark.parametrize("op", ["Equal", "NotEqual"])
@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((2, 3), (3,)), ((0,), (2,))], ids=str)
def test_equality_without_shape_error(backend, rng, op, shapes):
    """incompatible_shape_error=False: unbroadcastable shapes give a scalar instead of an error."""
    a, b = rand(rng, shapes[0]), rand(rng, shapes[1])
    check(backend, op, [a, b], {"incompatible_shape_error": False})


def test_equality_shape_error(backend, rng):
    assert_rejects(backend, "Equal", [rand(rng, (2, 3)), rand(rng, (4,))])


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("op", ["LogicalAnd", "LogicalOr"])
def test_logical_binary(backend, rng, op, shapes):
    check(backend, op, [rand(rng, shapes[0], "bool"), rand(rng, shapes[1], "bool")])


@pytest.mark.parametrize("shape", [(2, 5), (), (0,)], ids=str)
def test_logical_not(backend, rng, shape):
    check(backend, "LogicalNot", [rand(rng, shape, "bool")])


@pytest.mark.parametrize("dtype", ["float32", "int32", "string", "bool"])
@pytest.mark.parametrize("cond_shape,shape", [((), (2, 3)), ((2, 3), (2, 3)), ((2,), (2, 3)), ((4,), (4,)),
                                              ((3,), (3, 2, 2)), ((0,), (0, 2))], ids=str)
def test_select(backend, rng, dtype, cond_shape, shape):
    """TF1 Select: a vector condition picks whole rows of higher-rank then/else. tf.raw_ops.Select names its
    inputs x and y where its OpDef says t and e, which the harness's mapping can't follow: call it here."""
    def reference(condition, t, e):
        return tf().raw_ops.Select(condition=condition, x=t, y=e)
    inputs = [rand(rng, cond_shape, "bool"), rand(rng, shape, dtype), rand(rng, shape, dtype)]
    # strings stay on the CPU: the GL kernel hands them over
    check(backend, "Select", inputs, reference=reference, allow_fallback=dtype == "string")


@pytest.mark.parametrize("cond_shape,then_shape,else_shape", [((2, 3), (2, 3), (3, 3)), ((3,), (2, 3), (2, 3)),
                                                              ((2, 3), (3,), (2, 3)), ((3, 3), (2, 3), (2, 3))],
                         ids=str)
def test_select_rejects_shapes_tf_rejects(backend, rng, cond_shape, then_shape, else_shape):
    assert_rejects(backend, "Select", [rand(rng, cond_shape, "bool"), rand(rng, then_shape), rand(rng, else_shape)])


@pytest.mark.parametrize("dtype", ["float32", "int32", "string"])
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3), (2, 3)), ((3,), (2, 3), ()), ((2, 1), (1, 3), (2, 3)),
                                    ((), (4,), (4,)), ((0, 1), (1, 3), ())], ids=str)
def test_select_v2_broadcasts(backend, rng, dtype, shapes):
    cond, then, else_ = shapes
    check(backend, "SelectV2", [rand(rng, cond, "bool"), rand(rng, then, dtype, specials=True),
                                rand(rng, else_, dtype, specials=True)], allow_fallback=dtype == "string")


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "int64"])
def test_bitwise(backend, rng, op, dtype):
    low, high = (0, 255) if dtype == "uint8" else (-1000, 1000)
    check(backend, op, [rand(rng, (3, 4), dtype, low, high), rand(rng, (4,), dtype, low, high)])


@pytest.mark.parametrize("dtype", ["int32", "uint8", "int8", "int64"])
def test_invert_in_its_own_type(backend, rng, dtype):
    """Storage widens uint8 to int32; the T attr keeps ~x in the op's type (~5 is 250 in uint8)."""
    low, high = (0, 255) if dtype == "uint8" else (-100, 100)
    check(backend, "Invert", [rand(rng, (2, 5), dtype, low, high)], {"T": dtype})


# --- GPU concerns: large tensors spanning texture rows, rank-5/6 broadcasting, NaN/Inf, int32 and bool -------

LARGE_SHAPES = [((7, 10001), (10001,)), ((70001,), ()), ((300, 1, 250), (40, 1)), ((2, 1, 3, 1, 5), (3, 4, 1)),
                ((2, 1, 2, 3, 1, 2), (3, 1, 1, 2, 1))]


@pytest.mark.parametrize("shapes", LARGE_SHAPES, ids=str)
def test_compare_large_and_broadcast(backend, rng, shapes):
    a, b = rand(rng, shapes[0], specials=True), rand(rng, shapes[1], specials=True)
    b.reshape(-1)[: min(a.size, b.size)] = a.reshape(-1)[: min(a.size, b.size)]
    for op in COMPARISONS:
        check(backend, op, [a, b])


def test_compare_special_values_pairwise(backend):
    """Every pair of NaN, +-inf, +-0 and a few numbers: NaN compares false (NotEqual true), -0 == 0."""
    values = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 3.4e38, 1e-30], np.float32)
    a, b = (v.reshape(-1) for v in np.meshgrid(values, values))
    for op in COMPARISONS:
        check(backend, op, [a, b])
        check(backend, op, [a, a.copy()])  # x against itself: NaN != NaN


@pytest.mark.parametrize("op", COMPARISONS)
def test_compare_int32_and_bool(backend, rng, op):
    big = 1 << 24
    a = np.concatenate([[-big, big, big - 1, 0, -1], rng.integers(-big, big, 295)]).astype(np.int32)
    b = np.concatenate([[-big, big - 1, big, 0, 1], rng.integers(-big, big, 295)]).astype(np.int32)
    check(backend, op, [a.reshape(3, 100), b.reshape(3, 100)])
    check(backend, op, [a.reshape(3, 100), np.int32(7)])
    if op in ("Equal", "NotEqual"):
        check(backend, op, [rand(rng, (50, 3), "bool"), rand(rng, (3,), "bool")])


@pytest.mark.parametrize("op", ["LogicalAnd", "LogicalOr"])
def test_logical_binary_large_and_broadcast(backend, rng, op):
    check(backend, op, [rand(rng, (7, 10001), "bool"), rand(rng, (10001,), "bool")])
    check(backend, op, [rand(rng, (2, 1, 3, 1, 5), "bool"), rand(rng, (3, 4, 1), "bool")])


def test_logical_not_large(backend, rng):
    check(backend, "LogicalNot", [rand(rng, (70001,), "bool")])


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_select_large(backend, rng, dtype):
    """TF1 Select over many texture rows: a full condition, a row-picking vector, a scalar."""
    t, e = rand(rng, (300, 250), dtype, specials=True), rand(rng, (300, 250), dtype, specials=True)

    def reference(condition, then, else_):
        return tf().raw_ops.Select(condition=condition, x=then, y=else_)
    for cond_shape in [(300, 250), (300,), ()]:
        check(backend, "Select", [rand(rng, cond_shape, "bool"), t, e], reference=reference)


@pytest.mark.parametrize("shapes", [((7, 10001), (10001,), ()), ((300, 1, 250), (1, 40, 1), (40, 250)),
                                    ((2, 1, 3, 1, 5), (3, 4, 1), (1,)), ((2, 1, 2, 3, 1, 2), (3, 1, 1, 2, 1), ())],
                         ids=str)
def test_select_v2_large_and_broadcast(backend, rng, shapes):
    cond, then, else_ = shapes
    check(backend, "SelectV2", [rand(rng, cond, "bool"), rand(rng, then, specials=True),
                                rand(rng, else_, specials=True)])
    check(backend, "SelectV2", [rand(rng, cond, "bool"), rand(rng, then, "int32", -99, 99),
                                rand(rng, else_, "int32", -99, 99)])


def test_select_keeps_nan_inf_and_signed_zero(backend):
    t = np.array([np.nan, np.inf, -np.inf, -0.0, 1.5, 0.0], np.float32)
    e = np.array([1.0, 2.0, 3.0, 4.0, np.nan, -0.0], np.float32)
    cond = np.array([True, True, True, True, False, False])
    got = check(backend, "SelectV2", [cond, t, e])[0]
    np.testing.assert_array_equal(np.signbit(got[[3, 5]]), [True, True])


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
def test_bitwise_large_values_and_broadcast(backend, rng, op):
    """Values up to 2^24 (exact in webgl's float storage), negative ones included, over many rows."""
    big = 1 << 24
    check(backend, op, [rand(rng, (300, 250), "int32", -big, big), rand(rng, (250,), "int32", -big, big)])
    check(backend, op, [rand(rng, (2, 1, 3, 1, 5), "int32", -99, 99), np.int32(-6)])


def test_invert_large(backend, rng):
    check(backend, "Invert", [rand(rng, (70001,), "int32", -(1 << 23), 1 << 23)], {"T": "int32"})
    check(backend, "Invert", [rand(rng, (300, 250), "uint8", 0, 255)], {"T": "uint8"})
    check(backend, "Invert", [rand(rng, (300, 250), "int16", -30000, 30000)], {"T": "int16"})
    check(backend, "Invert", [rand(rng, (3, 5), "uint16", 0, 65535)], {"T": "uint16"})
