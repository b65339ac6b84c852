"""Basic math ops against tf.raw_ops: float/int/complex inputs, NaN/Inf, broadcasting, empty tensors."""
import math

import numpy as np
import pytest

from tests.kernels.harness import check, rand, run_engine

pytestmark = pytest.mark.tf

SHAPES = [(17,), (2, 3, 4), (), (0, 4)]

EXACT_UNARY = ["Abs", "Neg", "Square", "Sign", "Ceil", "Floor", "Round", "Rint", "IsNan", "IsInf", "IsFinite",
               "Relu", "Relu6"]
FLOAT_UNARY = ["Exp", "Log", "Sqrt", "Rsqrt", "Reciprocal", "Inv", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
               "Cosh", "Tanh", "Asinh", "Acosh", "Atanh", "Expm1", "Log1p", "Sigmoid", "Erf", "Elu", "Selu",
               "Softplus", "Softsign", "LeakyRelu"]
# Input ranges other than (-3, 3): each reaches its op's NaN-producing domain edge or saturation.
RANGES = {"Relu6": (-3, 9), "Exp": (-5, 5), "Log": (-1, 5), "Sqrt": (-1, 5), "Rsqrt": (-1, 5), "Sin": (-7, 7),
          "Cos": (-7, 7), "Tan": (-1.5, 1.5), "Asin": (-1.2, 1.2), "Acos": (-1.2, 1.2), "Atan": (-9, 9),
          "Sinh": (-5, 5), "Cosh": (-5, 5), "Tanh": (-5, 5), "Asinh": (-9, 9), "Acosh": (0.5, 9),
          "Atanh": (-1.2, 1.2), "Log1p": (-1.5, 3), "Sigmoid": (-20, 20), "Erf": (-5, 5), "Elu": (-5, 5),
          "Selu": (-5, 5), "Softplus": (-30, 30), "Softsign": (-5, 5)}
COMPLEX_UNARY = ["Neg", "Square", "Sign", "Reciprocal", "Inv", "Exp", "Log", "Sqrt", "Rsqrt", "Sin", "Cos",
                 "Tan", "Sinh", "Cosh", "Tanh", "Asin", "Acos", "Atan", "Asinh", "Acosh", "Atanh", "Expm1",
                 "Log1p", "Sigmoid", "ComplexAbs", "Real", "Imag", "Conj", "Angle"]
# (op, dtype) pairs TensorFlow has integer kernels for.
INT_UNARY = [(op, dtype) for op in ["Abs", "Neg", "Sign", "Square", "Relu", "Relu6"] for dtype in ["int32", "int64"]] \
    + [("Relu", "uint8"), ("Relu6", "uint8")]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op", EXACT_UNARY + FLOAT_UNARY)
def test_unary_float(backend, rng, op, shape):
    low, high = RANGES.get(op, (-3, 3))
    x = rand(rng, shape, low=low, high=high, specials=True)
    if op in EXACT_UNARY:
        check(backend, op, [x], rtol=0, atol=0)
    else:
        check(backend, op, [x], rtol=1e-5)


@pytest.mark.parametrize("op,dtype", INT_UNARY)
def test_unary_int(backend, rng, op, dtype):
    low = 0 if dtype == "uint8" else -9
    check(backend, op, [rand(rng, (3, 5), dtype, low, 9)])


@pytest.mark.parametrize("op", ["Abs", "Neg", "Sign", "Square", "Relu", "Relu6"])
def test_int32_extremes_wrap_like_tf(backend, op):
    x = np.array([np.iinfo(np.int32).min, np.iinfo(np.int32).max, -46341, 46341, 0, -1], np.int32)
    check(backend, op, [x])


def test_round_int_is_identity(backend, rng):
    """TF 2.21's integer Round kernel returns zeros (a TF bug); rounding an integer leaves it unchanged."""
    x = rand(rng, (4, 3), "int32", -9, 9)
    check(backend, "Round", [x], reference=lambda v: v)


@pytest.mark.parametrize("op", ["Round", "Rint"])
def test_round_half_to_even(backend, op):
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999998, -0.49999997, 8388609.0], np.float32)
    check(backend, op, [x], rtol=0, atol=0)


@pytest.mark.parametrize("op", COMPLEX_UNARY)
@pytest.mark.parametrize("shape", [(3, 4), (0, 2)], ids=str)
def test_unary_complex(backend, rng, op, shape):
    check(backend, op, [rand(rng, shape, "complex64", -2, 2)], rtol=1e-5)


def test_erf_matches_math_erf(backend):
    """The float32 result is math.erf rounded to float32 (within an ulp), tiny inputs included."""
    x = np.concatenate([np.linspace(-4.5, 4.5, 9001), np.geomspace(1e-30, 4, 500)]).astype(np.float32)
    want = np.array([math.erf(v) for v in x.astype(np.float64)], np.float32)
    got = run_engine(backend, "Erf", [x])[0]
    np.testing.assert_allclose(got, want, rtol=1.2e-7, atol=0)


@pytest.mark.parametrize("alpha", [None, 0.01, 2.0])
def test_leaky_relu_alpha(backend, rng, alpha):
    attrs = {} if alpha is None else {"alpha": alpha}
    check(backend, "LeakyRelu", [rand(rng, (4, 5), specials=True)], attrs, rtol=0, atol=0)


BINARY_SHAPES = [((2, 3), (2, 3)), ((4, 1, 5), (3, 1)), ((), (7,)), ((0, 3), (1, 3))]


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_atan2(backend, rng, shapes):
    check(backend, "Atan2", [rand(rng, shapes[0], specials=True), rand(rng, shapes[1], specials=True)],
          rtol=1e-5)


def test_atan2_signed_zeros_and_infinities(backend):
    y = np.array([0.0, -0.0, 0.0, -0.0, np.inf, np.inf, -np.inf, np.nan, 1.0, 1.0], np.float32)
    x = np.array([0.0, 0.0, -0.0, -0.0, np.inf, -np.inf, 1.0, 1.0, 0.0, -np.inf], np.float32)
    check(backend, "Atan2", [y, x], rtol=1e-6)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_complex_from_parts(backend, rng, shapes):
    real, imag = rand(rng, shapes[0], specials=True), rand(rng, shapes[1], specials=True)
    check(backend, "Complex", [real, imag], rtol=0, atol=0)


@pytest.mark.parametrize("shapes", [((2, 3, 4), (4,)), ((2, 3, 4), ()), ((5,), (5,)), ((0, 4), (4,))], ids=str)
def test_prelu(backend, rng, shapes):
    """A TF.js op: no tf.raw_ops twin, so the reference is its definition."""
    x, alpha = rand(rng, shapes[0], specials=True), rand(rng, shapes[1], low=0, high=1)
    check(backend, "Prelu", [x, alpha], reference=lambda v, a: np.where(v < 0, a * v, v), rtol=0, atol=0)


@pytest.mark.parametrize("low,high", [(-1.0, 2.0), (3.0, 2.0), (np.nan, 2.0), (-1.0, np.nan), (-np.inf, np.inf)])
def test_clip_by_value_scalar_bounds(backend, rng, low, high):
    x = rand(rng, (4, 5), specials=True)
    check(backend, "ClipByValue", [x, np.float32(low), np.float32(high)], rtol=0, atol=0)


def test_clip_by_value_tensor_bounds_and_ints(backend, rng):
    x = rand(rng, (3, 4), specials=True)
    check(backend, "ClipByValue", [x, rand(rng, (3, 4), high=0), rand(rng, (3, 4), low=0)], rtol=0, atol=0)
    check(backend, "ClipByValue", [rand(rng, (6,), "int32", -9, 9), np.int32(-2), np.int32(5)])
    check(backend, "ClipByValue", [np.zeros((0, 3), np.float32), np.float32(0), np.float32(1)])


FAKE_QUANT_RANGES = [(-6.0, 6.0, 8, False), (0.0, 1.0, 8, True), (-0.3, 7.7, 4, False), (-2.55, 0.0, 16, True),
                     (-1.1, 3.3, 2, False)]


@pytest.mark.parametrize("low,high,num_bits,narrow_range", FAKE_QUANT_RANGES)
def test_fake_quant(backend, rng, low, high, num_bits, narrow_range):
    """Exact match: the level each value rounds to must be TF's, ties and clamping included."""
    x = rand(rng, (4, 50), low=low * 1.3 - 0.1, high=high * 1.3 + 0.1, specials=True)
    bits = {"num_bits": num_bits, "narrow_range": narrow_range}
    check(backend, "FakeQuantWithMinMaxArgs", [x], {"min": low, "max": high, **bits}, rtol=0, atol=0)
    check(backend, "FakeQuantWithMinMaxVars", [x, np.float32(low), np.float32(high)], bits, rtol=0, atol=0)
    lows, highs = np.array([low, 0, -1, 0], np.float32), np.array([high, 0, 0.5, 2], np.float32)
    check(backend, "FakeQuantWithMinMaxVarsPerChannel", [x.reshape(50, 4), lows, highs], bits, rtol=0, atol=0)


def test_fake_quant_zero_range_gives_zeros(backend, rng):
    x = rand(rng, (3, 4))
    check(backend, "FakeQuantWithMinMaxVars", [x, np.float32(0), np.float32(0)], rtol=0, atol=0)
