"""Basic math ops against tf.raw_ops: float/int/complex inputs, NaN/Inf, broadcasting, empty tensors."""
import math

import numpy as np
import pytest

import engine
from tests.kernels.harness import assert_elementwise, check, rand, run_engine, run_on_gpu, run_tf, tf

pytestmark = pytest.mark.tf

# (70001,) spans many texture rows with a padded last row on webgl.
SHAPES = [(17,), (2, 3, 4), (), (0, 4), (70001,)]

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
def test_int32_extremes_wrap_like_tf_on_cpu(op):
    """CPU only: webgl keeps int32 in float32 textures (as TF.js), exact within 2^24
    (test_int32_exact_within_2_24 covers it)."""
    x = np.array([np.iinfo(np.int32).min, np.iinfo(np.int32).max, -46341, 46341, 0, -1], np.int32)
    check("cpu", op, [x])


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
    """On webgl complex tensors are two float textures: Real, Imag and ComplexAbs read them there;
    complex math itself runs the CPU kernel."""
    check(backend, op, [rand(rng, shape, "complex64", -2, 2)], rtol=1e-5,
          allow_fallback=op not in ("ComplexAbs", "Real", "Imag"))


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


# --- GPU concerns: integers in float storage, special values, float32 accuracy, large and broadcast tensors ----

@pytest.mark.parametrize("op", ["Abs", "Neg", "Sign", "Square", "Relu", "Relu6", "Round", "Ceil", "Floor"])
def test_int32_exact_within_2_24(backend, rng, op):
    """webgl stores int32 as float32: every integer up to 2^24 in magnitude survives exactly (Square's inputs
    up to 4096, so that the square does too)."""
    limit = 4096 if op == "Square" else 1 << 24
    x = np.concatenate([[-limit, limit, 1 - limit, limit - 1, 0, -1, 1, -7], rng.integers(-limit, limit, 992)])
    x = x.astype(np.int32).reshape(10, 100)
    reference = (lambda v: v) if op in ("Round", "Ceil", "Floor") else None  # TF: no int kernel / a zeros bug
    check(backend, op, [x], reference=reference)


# Values where the ops change regime (domain edges, branch points of the GL kernels, overflow and underflow
# thresholds, saturation), NaN, infinities and signed zeros. No subnormals: TensorFlow flushes them to zero.
SPECIAL_VALUES = np.array([
    np.nan, np.inf, -np.inf, 0.0, -0.0, 1.2e-38, -3e-30, 1e-7, -2.5e-5, 2.44e-4, -1e-3, 0.01, -0.1, 0.25, -0.2929,
    0.3466, -0.4142, 0.5, -0.5000001, 0.75, -0.9999999, 1.0, -1.0, 1.0000001, -1.5, 1.8284, -2.0, 2.5, -3.7, 4.0,
    -4.5, 6.0, -7.0, 9.0, -9.1, 10.0, -17.4, 17.6, -20.0, 50.0, -87.4, 88.72283, -88.72284, 89.41, -89.42, -103.9,
    104.0, 150.0, -4096.0, 4097.0, 1e4, -65536.0, 1e10, -1e20, 3e38, -3.4e38], np.float32)
TRIG = ("Sin", "Cos", "Tan")


@pytest.mark.parametrize("op", EXACT_UNARY + FLOAT_UNARY)
def test_unary_special_values(backend, op):
    """Element by element against TF (check() scales its tolerance by the largest value, which would hide
    errors on small results): NaN and infinities where TF has them, finite values within 1e-6 relative.
    Elu/Selu: TF computes exp(x) - 1, which is off by up to ~1e-7 absolute near 0 (tfgl uses expm1).
    Sin/Cos/Tan: beyond 65536 float32 holds no digit of x's fraction of pi and webgl answers with the
    driver's function (as TF.js); checked to stay in range only."""
    x = SPECIAL_VALUES
    if op in TRIG:
        x = x[~(np.abs(x) > 65536)]
    got = run_on_gpu(backend, op, [x])[0]
    want = run_tf(op, [x])[0]
    if want.dtype == bool:
        np.testing.assert_array_equal(got, want)
        return
    assert_elementwise(got, want, rtol=0 if op in EXACT_UNARY else 1e-6,
                       atol=3e-7 if op in ("Elu", "Selu") else 1.2e-38, what=f"{op} on {backend}")
    if op in ("Sin", "Cos"):
        huge = SPECIAL_VALUES[np.abs(SPECIAL_VALUES) > 65536]
        got = run_engine(backend, op, [huge])[0]
        assert np.all((np.abs(got) <= 1) | np.isnan(got)), got


def _grid(*ranges, n=20001):
    return np.concatenate([np.linspace(lo, hi, n) for lo, hi in ranges]).astype(np.float32)


_TINY = np.geomspace(1e-30, 1e-3, 2000)
# op -> (float64 reference, inputs): dense grids over each op's interesting range and the regimes of the GL
# kernels' own exp/log/sin (tfgl does not use the drivers', which are approximations).
ACCURACY = {
    "Exp": (np.exp, _grid((-103, 88.7), (-1, 1))),
    "Expm1": (np.expm1, np.concatenate([_grid((-18, 88.7), (-1, 1)), _TINY, -_TINY]).astype(np.float32)),
    "Log": (np.log, np.concatenate([_grid((1e-3, 10), (0.5, 2)), np.geomspace(1e-37, 3e38, 5000)]).astype(np.float32)),
    "Log1p": (np.log1p, np.concatenate([_grid((-0.999, 3), (-0.01, 0.01)), _TINY, -_TINY]).astype(np.float32)),
    "Sin": (np.sin, np.concatenate([_grid((-8192, 8192), (-10, 10)), _TINY, -_TINY]).astype(np.float32)),
    "Cos": (np.cos, _grid((-8192, 8192), (-10, 10))),
    "Tan": (np.tan, np.concatenate([_grid((-100, 100), (-1.5, 1.5)), _TINY]).astype(np.float32)),
    "Asin": (np.arcsin, np.concatenate([_grid((-1, 1)), _TINY]).astype(np.float32)),
    "Acos": (np.arccos, _grid((-1, 1))),
    "Atan": (np.arctan, np.concatenate([_grid((-10, 10)), np.geomspace(1e-30, 3e38, 5000)]).astype(np.float32)),
    "Sinh": (np.sinh, np.concatenate([_grid((-89.4, 89.4), (-2, 2)), _TINY]).astype(np.float32)),
    "Cosh": (np.cosh, _grid((-89.4, 89.4), (-2, 2))),
    "Tanh": (np.tanh, np.concatenate([_grid((-12, 12), (-1.1, 1.1)), _TINY, -_TINY]).astype(np.float32)),
    "Asinh": (np.arcsinh, np.concatenate([_grid((-10, 10)), np.geomspace(1e-30, 3e38, 5000)]).astype(np.float32)),
    "Acosh": (np.arccosh, np.concatenate([_grid((1, 10)), np.geomspace(1, 3e38, 5000)]).astype(np.float32)),
    "Atanh": (np.arctanh, np.concatenate([_grid((-0.9999, 0.9999)), _TINY]).astype(np.float32)),
    "Sigmoid": (lambda v: 1 / (1 + np.exp(-v)), _grid((-87, 30))),
    "Softplus": (lambda v: np.logaddexp(0, v), _grid((-87, 100))),
    "Erf": (None, np.concatenate([_grid((-5, 5)), _TINY]).astype(np.float32)),
    "Elu": (lambda v: np.where(v > 0, v, np.expm1(v)), np.concatenate([_grid((-20, 5)), -_TINY]).astype(np.float32)),
    "Sqrt": (np.sqrt, np.geomspace(1e-37, 3e38, 20000).astype(np.float32)),
    "Rsqrt": (lambda v: 1 / np.sqrt(v), np.geomspace(1e-37, 3e38, 20000).astype(np.float32)),
}


@pytest.mark.parametrize("op", sorted(ACCURACY))
def test_float32_accuracy(backend, op):
    """Element by element against float64 math on dense grids, tiny inputs included: within 4e-7 relative
    (about 3 ulp; the GL kernels stay within ~2.5 ulp, numpy's float32 loops within ~1)."""
    reference, x = ACCURACY[op]
    wide = x.astype(np.float64)
    want = np.array([math.erf(v) for v in wide]) if op == "Erf" else reference(wide)
    got = run_on_gpu(backend, op, [x])[0]
    assert_elementwise(got, want, rtol=4e-7, atol=1.2e-38, what=f"{op} on {backend}")


def test_unary_ops_on_a_multi_row_tensor_of_odd_shape(backend, rng):
    """(3, 7, 3331): the texture folds to 21 x 3331 rows on webgl; values keep their positions."""
    x = rand(rng, (3, 7, 3331), low=-4, high=4, specials=True)
    for op in ["Neg", "Relu6", "Exp", "Tanh", "Sigmoid", "Erf", "IsNan"]:
        check(backend, op, [x], rtol=1e-6)


@pytest.mark.parametrize("shapes", [((4, 100, 175), (175,)), ((4, 100, 175), (100, 1)), ((70001,), ()),
                                    ((2, 1, 3, 1, 4), (3, 5, 1)), ((2, 3, 1, 2, 1, 3), (2, 2, 1))], ids=str)
def test_prelu_broadcasts(backend, rng, shapes):
    x, alpha = rand(rng, shapes[0], specials=True), rand(rng, shapes[1], low=0, high=1)
    check(backend, "Prelu", [x, alpha], reference=lambda v, a: np.where(v < 0, a * v, v), rtol=0, atol=0)


def test_prelu_int32(backend, rng):
    x, alpha = rand(rng, (3, 5), "int32", -9, 9), rand(rng, (5,), "int32", 0, 3)
    check(backend, "Prelu", [x, alpha], reference=lambda v, a: np.where(v < 0, a * v, v))


@pytest.mark.parametrize("shapes", [((300, 250), (250,)), ((70001,), ()), ((2, 1, 3, 1, 5), (3, 4, 1))], ids=str)
def test_atan2_large_and_broadcast(backend, rng, shapes):
    check(backend, "Atan2", [rand(rng, shapes[0], specials=True), rand(rng, shapes[1], specials=True)], rtol=1e-6)


def test_atan2_all_quadrants_elementwise(backend):
    """Every sign combination of y and x, zeros and infinities included, element by element against TF."""
    values = np.array([0.0, -0.0, 1e-30, -2e-7, 0.5, -1.0, 3.0, -1e20, np.inf, -np.inf, np.nan], np.float32)
    y, x = (v.reshape(-1) for v in np.meshgrid(values, values))
    got = run_on_gpu(backend, "Atan2", [y, x])[0]
    want = run_tf("Atan2", [y, x])[0]
    assert_elementwise(got, want, rtol=1e-6, atol=1.2e-38, what="Atan2")
    np.testing.assert_array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)]))


def test_clip_by_value_large_with_tensor_bounds(backend, rng):
    """Bounds of t's shape with NaNs in them (ignored), and a bound that broadcasts (tfgl's CPU kernel accepts
    it where TF wants a scalar or t's shape, so the reference is the CPU kernel's definition)."""
    x = rand(rng, (300, 250), specials=True)
    low, high = rand(rng, (300, 250), low=-2, high=0), rand(rng, (300, 250), low=0, high=2)
    low[0, :3], high[:2, 5] = np.nan, np.nan
    check(backend, "ClipByValue", [x, low, np.float32(1.5)], rtol=0, atol=0)
    check(backend, "ClipByValue", [x, np.float32(-1), high], rtol=0, atol=0)

    def reference(t, lo, hi):
        upper = np.where(hi < t, hi, t)
        return np.where(upper < lo, lo, upper)
    check(backend, "ClipByValue", [x, low[0], high], reference=reference, rtol=0, atol=0)


def test_clip_by_value_int32_large(backend, rng):
    x = rand(rng, (70001,), "int32", -1000, 1000)
    check(backend, "ClipByValue", [x, np.int32(-300), np.int32(500)])


def test_leaky_relu_alphas_share_one_program(backend, rng):
    """alpha is a uniform on webgl: a second alpha runs the compiled program again, no new compile."""
    x = rand(rng, (6, 7), specials=True)
    check(backend, "LeakyRelu", [x], {"alpha": 0.1}, rtol=0, atol=0)
    if backend == "webgl":
        compiled = engine.get_backend("webgl").stats.programs_made
    check(backend, "LeakyRelu", [x], {"alpha": 0.3}, rtol=0, atol=0)
    if backend == "webgl":
        assert engine.get_backend("webgl").stats.programs_made == compiled


@pytest.mark.parametrize("op", ["Exp", "Sqrt", "IsNan", "Reciprocal"])
def test_float_only_ops_on_int32_run_the_cpu_kernel(backend, rng, op):
    """TF has no integer kernel for these; on webgl the GL kernel hands int32 to the CPU kernel."""
    x = rand(rng, (200,), "int32", 1, 9)
    want = run_engine("cpu", op, [x])[0]
    stats = engine.get_backend("webgl").stats if backend == "webgl" else None
    before = stats.cpu_fallbacks.get(op, 0) if stats else 0
    got = run_engine(backend, op, [x])[0]
    np.testing.assert_array_equal(got, want)
    if stats:
        assert stats.cpu_fallbacks.get(op, 0) == before + 1


def test_complex_abs_special_values(backend):
    parts = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.0, 1e30, 1e-30], np.float32)
    x = np.empty((len(parts), len(parts)), np.complex64)
    x.real, x.imag = parts[:, None], parts[None, :]
    check(backend, "ComplexAbs", [x], rtol=1e-6)


def test_complex_parts_stay_on_the_gpu(webgl, rng):
    """Complex pairs two GPU textures and Real/Imag hand them back: nothing is downloaded or copied."""
    import engine
    from tests.kernels.harness import to_tensor
    impl = engine.get_backend(webgl)
    real, imag = to_tensor(rand(rng, (40, 50), specials=True)), to_tensor(rand(rng, (40, 50)))
    for t in (real, imag):
        impl.texture_of(t)
    downloads, draws = impl.stats.downloads, impl.stats.draws
    z = impl.run("Complex", [real, imag], {})[0]
    back = impl.run("Real", [z], {})[0], impl.run("Imag", [z], {})[0]
    assert (impl.stats.downloads, impl.stats.draws) == (downloads, draws)
    np.testing.assert_array_equal(back[0].numpy(), real.numpy())
    np.testing.assert_array_equal(back[1].numpy(), imag.numpy())
    assert z.numpy().dtype == np.complex64 and np.array_equal(z.numpy().imag, imag.numpy())


def _tfjs_step(alpha: float):
    """TF.js's step composed from TensorFlow ops: 1 where x > 0, alpha (cast to x's dtype) elsewhere, NaN kept."""
    def reference(x):
        t = tf()
        x = t.constant(x)
        low = t.cast(t.constant(alpha, t.float64), x.dtype)
        stepped = t.where(x > 0, t.ones_like(x), t.fill(t.shape(x), low))
        return t.where(t.math.is_nan(x), x, stepped) if x.dtype.is_floating else stepped
    return reference


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("alpha", [0.0, -0.75, 2.5])
def test_step(backend, rng, shape, alpha):
    """TF.js's Step (no TensorFlow op): NaN, infinities and zeros among the values."""
    x = rand(rng, shape, specials=True)
    if x.size > 4:
        x.reshape(-1)[:2] = [0.0, -0.0]
    check(backend, "Step", [x], {"alpha": alpha}, reference=_tfjs_step(alpha))


def test_step_int32_truncates_alpha(backend, rng):
    x = rand(rng, (3, 7), "int32", -3, 3)
    for alpha in (-1.7, 0.9, 4.0):
        check(backend, "Step", [x], {"alpha": alpha}, reference=_tfjs_step(alpha))
