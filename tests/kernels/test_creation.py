"""Creation ops: fills, ranges and one-hot against tf.raw_ops; Ones/Zeros (TF.js-only) against numpy;
random ops by shape, dtype, determinism under a seed, and distribution statistics."""
import numpy as np
import pytest

import engine
from engine.errors import ResourceLimitError
from engine.kernels.resolve.creation import multinomial_uniforms
from engine.kernels.webgl import creation as gl_creation
from tests.kernels.harness import assert_rejects, check, i32, rand, run_drawn, run_engine

pytestmark = pytest.mark.tf


def run1(backend, op, inputs, attrs=None):
    return run_engine(backend, op, inputs, attrs)[0]


# -- fills -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.float32(2.5), np.float32(np.nan), np.float32(-np.inf), np.int32(-7),
                                   np.int64(3), np.bool_(True), np.array(b"tf", dtype=object),
                                   np.complex64(1 - 2j)], ids=repr)
@pytest.mark.parametrize("dims", [[2, 3], [], [0, 4], [1, 1, 5]], ids=str)
def test_fill(backend, value, dims):
    check(backend, "Fill", [i32(dims), value])
    check(backend, "Fill", [np.asarray(dims, np.int64), value])


def test_fill_rejects_negative_dims(backend):
    assert_rejects(backend, "Fill", [i32([2, -1]), np.float32(1)], match="negative")


@pytest.mark.parametrize("op,fill_value", [("Ones", 1), ("Zeros", 0)])
@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "bool", "float16"])
@pytest.mark.parametrize("shape", [[2, 3], [], [0, 2]], ids=str)
def test_ones_zeros(backend, op, fill_value, dtype, shape):
    """TF.js graph ops (no TensorFlow kernel): shape as input, dtype as attr T."""
    check(backend, op, [i32(shape)], {"T": dtype}, reference=lambda s: np.full(s, fill_value, dtype))


def test_zeros_default_dtype_and_strings(backend):
    check(backend, "Zeros", [i32([2])], reference=lambda s: np.zeros(s, np.float32))
    check(backend, "Zeros", [i32([2])], {"T": "string"}, reference=lambda s: np.array([b"", b""], dtype=object))


@pytest.mark.parametrize("op", ["OnesLike", "ZerosLike"])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "complex64"])
@pytest.mark.parametrize("shape", [(2, 3), (), (0, 4)], ids=str)
def test_ones_zeros_like(backend, rng, op, dtype, shape):
    check(backend, op, [rand(rng, shape, dtype, specials=True)])


def test_zeros_like_string(backend, rng):
    check(backend, "ZerosLike", [rand(rng, (2, 3), "string")])
    assert_rejects(backend, "OnesLike", [rand(rng, (2,), "string")], match="strings")


# -- ranges ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("start,limit,delta", [(0, 10, 1), (3, 17, 4), (5, -3, -2), (-4, 4, 3), (7, 7, 1), (10, 0, -3),
                                               (0, 1, 5)], ids=str)
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_range_int(backend, start, limit, delta, dtype):
    inputs = [np.asarray(v, dtype) for v in (start, limit, delta)]
    check(backend, "Range", inputs, {"Tidx": dtype})


FLOAT_RANGES = [(0.0, 1.0, 0.1), (0.0, 1.0, 0.3), (2.5, -1.0, -0.5), (-1.0, 1.0, 0.25), (1.0, 1.0, 0.5),
                (0.0, 100.0, 0.7)]


# float32 rounding makes 1e-3 / 1e-4 round up past 10, giving one more value than in float64.
@pytest.mark.parametrize("start,limit,delta", FLOAT_RANGES + [(0.0, 1e-3, 1e-4)], ids=str)
def test_range_float32(backend, start, limit, delta):
    check(backend, "Range", [np.float32(v) for v in (start, limit, delta)], {"Tidx": "float32"})


@pytest.mark.parametrize("start,limit,delta", FLOAT_RANGES, ids=str)
def test_range_float64(backend, start, limit, delta):
    """tfgl stores float64 as float32, so it computes these at float32 precision."""
    check(backend, "Range", [np.float64(v) for v in (start, limit, delta)], {"Tidx": "float64"})


def test_range_without_tidx_follows_inputs(backend):
    check(backend, "Range", [np.int32(2), np.int32(9), np.int32(2)])
    check(backend, "Range", [np.float32(0.5), np.float32(3), np.float32(0.5)])


@pytest.mark.parametrize("start,limit,delta,match", [(0, 3, 0, "delta != 0"), (0, 3, -1, "limit"), (3, 0, 1, "limit")])
def test_range_rejects(backend, start, limit, delta, match):
    assert_rejects(backend, "Range", [i32(start), i32(limit), i32(delta)], match=match)


@pytest.mark.parametrize("start,stop,num", [(1.0, 2.0, 5), (1.0, 2.0, 1), (-3.0, 7.5, 11), (5.0, -5.0, 4),
                                            (0.0, 1.0, 1000), (2.0, 2.0, 3)], ids=str)
def test_lin_space(backend, start, stop, num):
    check(backend, "LinSpace", [np.float32(start), np.float32(stop), np.int32(num)])
    check(backend, "LinSpace", [np.float32(start), np.float32(stop), np.int64(num)])


def test_lin_space_rejects_zero(backend):
    assert_rejects(backend, "LinSpace", [np.float32(0), np.float32(1), np.int32(0)], match="num > 0")


# -- OneHot ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis", [((5,), -1), ((5,), 0), ((2, 3), -1), ((2, 3), 0), ((2, 3), 1), ((2, 3), 2),
                                        ((), -1), ((0, 3), 1)], ids=str)
@pytest.mark.parametrize("on,off", [(np.float32(1), np.float32(0)), (np.float32(2.5), np.float32(-1)),
                                    (np.int32(7), np.int32(-2)), (np.bool_(True), np.bool_(False))], ids=repr)
def test_one_hot(backend, rng, shape, axis, on, off):
    indices = rng.integers(-2, 6, shape)  # includes negative and >= depth: all-off rows
    check(backend, "OneHot", [indices.astype(np.int32), np.int32(4), on, off], {"axis": axis})
    check(backend, "OneHot", [indices.astype(np.int64), np.int32(4), on, off], {"axis": axis})


def test_one_hot_zero_depth_and_bad_axis(backend):
    check(backend, "OneHot", [i32([0, 1]), np.int32(0), np.float32(1), np.float32(0)], {"axis": -1})
    assert_rejects(backend, "OneHot", [i32([0, 1]), np.int32(3), np.float32(1), np.float32(0)], {"axis": 2},
                   match="axis")


# -- random ------------------------------------------------------------------------------------------

SHAPE = [200, 250]  # 50,000 samples: sample mean/std land well within the bounds below


def test_random_standard_normal(backend):
    x = run1(backend, "RandomStandardNormal", [i32(SHAPE)], {"dtype": "float32", "seed": 3, "seed2": 4})
    assert x.shape == tuple(SHAPE) and x.dtype == np.float32
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03
    assert abs(np.mean(np.abs(x) < 1) - 0.6827) < 0.01  # the normal's one-sigma mass
    assert np.abs(x).max() > 3


def test_random_uniform(backend):
    x = run1(backend, "RandomUniform", [i32(SHAPE)], {"dtype": "float32", "seed": 5})
    assert x.shape == tuple(SHAPE) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.01 and abs(x.std() - np.sqrt(1 / 12)) < 0.01
    counts = np.histogram(x, bins=10, range=(0, 1))[0]
    assert counts.min() > 0.9 * x.size / 10


@pytest.mark.parametrize("low,high", [(0, 10), (-5, 3), (100, 101)])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_random_uniform_int(backend, low, high, dtype):
    x = run1(backend, "RandomUniformInt", [i32(SHAPE), np.asarray(low, dtype), np.asarray(high, dtype)], {"seed": 1})
    assert x.shape == tuple(SHAPE) and x.dtype == np.int32
    assert x.min() == low and x.max() == high - 1
    assert abs(x.mean() - (low + high - 1) / 2) < 0.05 * (high - low)


def test_random_uniform_int_rejects_empty_range(backend):
    assert_rejects(backend, "RandomUniformInt", [i32([3]), np.int32(4), np.int32(4)], match="minval < maxval")


def test_truncated_normal(backend):
    x = run1(backend, "TruncatedNormal", [i32(SHAPE)], {"dtype": "float32", "seed": 8})
    assert x.shape == tuple(SHAPE) and x.dtype == np.float32
    assert np.abs(x).max() <= 2 and np.abs(x).max() > 1.95
    # A standard normal truncated to [-2, 2] has mean 0 and std 0.8796.
    assert abs(x.mean()) < 0.02 and abs(x.std() - 0.8796) < 0.02


@pytest.mark.parametrize("op,attrs", [("RandomStandardNormal", {"dtype": "float16"}),
                                      ("RandomUniform", {"dtype": "float64"}),
                                      ("TruncatedNormal", {"dtype": "float16"})])
def test_random_float_dtypes_and_empty(backend, op, attrs):
    assert run1(backend, op, [i32([3, 0])], attrs).shape == (3, 0)
    x = run1(backend, op, [i32([500])], dict(attrs, seed=2))
    assert x.dtype == np.float32 and np.isfinite(x).all()
    if attrs["dtype"] == "float16":
        assert np.array_equal(x, x.astype(np.float16).astype(np.float32))


def test_multinomial(backend):
    probabilities = np.float32([[0.1, 0.2, 0.7, 0.0], [0.25, 0.25, 0.25, 0.25]])
    logits = np.where(probabilities > 0, np.log(np.maximum(probabilities, 1e-30)), -np.inf).astype(np.float32) + 3
    x = run1(backend, "Multinomial", [logits, np.int32(20000)], {"seed": 11, "seed2": 1})
    assert x.shape == (2, 20000) and x.dtype == np.int32
    assert x.min() >= 0 and x.max() <= 3
    assert not (x[0] == 3).any()  # a -inf logit is never drawn
    for row, probs in zip(x, probabilities):
        frequencies = np.bincount(row, minlength=4) / row.size
        assert np.abs(frequencies - probs).max() < 0.015


def test_multinomial_shapes_and_output_dtype(backend):
    logits = np.zeros((3, 5), np.float32)
    assert run1(backend, "Multinomial", [logits, np.int32(0)]).shape == (3, 0)
    assert run1(backend, "Multinomial", [np.zeros((0, 5), np.float32), np.int32(4)]).shape == (0, 4)
    x = run1(backend, "Multinomial", [logits, np.int32(7)], {"output_dtype": "int32", "seed": 4})
    assert x.shape == (3, 7) and x.dtype == np.int32
    assert run1(backend, "Multinomial", [np.float32([[-np.inf, 5, -np.inf]]), np.int32(50)]).tolist() == [[1] * 50]


def _near_a_class_boundary(logits: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """The samples whose uniform lands within float32 rounding of a class boundary of the CPU kernel's
    float64 CDF: there the GPU's float32 CDF may pick the neighbouring class."""
    rows = logits.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf in the rows with a +inf logit: NaN, as in the kernels
        cumulative = np.cumsum(np.exp(rows - rows.max(axis=1, keepdims=True)), axis=1)
    near = np.zeros(uniforms.shape, bool)
    for row, (cdf, draws) in enumerate(zip(cumulative, uniforms)):
        targets = draws * cdf[-1]
        above = np.minimum(np.searchsorted(cdf, targets), cdf.size - 1)  # the boundaries either side
        below = np.maximum(above - 1, 0)
        gaps = np.minimum(np.abs(targets - cdf[above]), np.abs(targets - cdf[below]))
        near[row] = gaps <= 1e-6 * cdf[-1]
    return near


def test_multinomial_same_samples_on_webgl_as_on_cpu(webgl, rng):
    """The uniforms are drawn on the host by the CPU kernel's generator, the CDF is inverted on the
    GPU: a seed gives the CPU kernel's samples, but for uniforms on a class boundary. Rows with a
    -inf logit, a NaN, a +inf and only -inf; 7 classes (a direct Cumsum) and 700 (a scan)."""
    for classes in (7, 700):
        logits = rng.normal(0, 2, (6, classes)).astype(np.float32)
        logits[0, 3], logits[1, :], logits[2, 5], logits[3, 1] = -np.inf, -np.inf, np.inf, np.nan
        attrs = {"seed": 5, "seed2": 3}
        got, draws = run_drawn("Multinomial", [logits, np.int32(3000)], attrs)
        want = run1("cpu", "Multinomial", [logits, np.int32(3000)], attrs)
        assert draws > 0
        differ = got[0] != want
        near = _near_a_class_boundary(logits, multinomial_uniforms(5, 3, 6, 3000))
        assert not (differ & ~near).any(), f"{(differ & ~near).sum()} samples differ away from a class boundary"
        assert near.mean() < 1e-3


def test_multinomial_refuses_outputs_past_the_size_limit(backend):
    with pytest.raises(ResourceLimitError, match="Multinomial's samples"):
        run1(backend, "Multinomial", [np.zeros((4, 3), np.float32), np.int32(2**31 - 1)])


def test_multinomial_past_exact_float_classes_runs_the_cpu_kernel(webgl, monkeypatch):
    """Class indices from 2**24 up are not exact in a float texture (the bound lowered to 8 here)."""
    monkeypatch.setattr(gl_creation, "FLOAT_EXACT", 8)
    stats = engine.get_backend(webgl).stats
    before = stats.cpu_fallbacks.get("Multinomial", 0)
    logits = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    got = run1(webgl, "Multinomial", [logits, np.int32(50)], {"seed": 3})
    assert stats.cpu_fallbacks.get("Multinomial", 0) == before + 1
    np.testing.assert_array_equal(got, run1("cpu", "Multinomial", [logits, np.int32(50)], {"seed": 3}))


def test_multinomial_frequencies_over_many_classes(backend, rng):
    """A chi-square test over 300 classes (a mean of 299 and a deviation of 24.5 for correct samples)."""
    logits = rng.normal(0, 1, (1, 300)).astype(np.float32)
    x = run1(backend, "Multinomial", [logits, np.int32(60000)], {"seed": 2, "seed2": 9})
    probabilities = np.exp(logits[0].astype(np.float64))
    expected = probabilities / probabilities.sum() * x.size
    chi_square = ((np.bincount(x[0], minlength=300) - expected) ** 2 / expected).sum()
    assert chi_square < 299 + 6 * 24.5


RANDOM_CALLS = [
    ("RandomStandardNormal", [i32([64])], {"dtype": "float32"}),
    ("RandomUniform", [i32([64])], {"dtype": "float32"}),
    ("RandomUniformInt", [i32([64]), np.int32(0), np.int32(1000)], {}),
    ("TruncatedNormal", [i32([64])], {"dtype": "float32"}),
    ("Multinomial", [np.zeros((2, 50), np.float32), np.int32(32)], {}),
]


@pytest.mark.parametrize("op,inputs,attrs", RANDOM_CALLS, ids=[c[0] for c in RANDOM_CALLS])
def test_random_seeding(backend, op, inputs, attrs):
    """A nonzero seed or seed2 repeats the same values; other seeds and unseeded calls differ."""
    seeded = [run1(backend, op, inputs, dict(attrs, seed=seed, seed2=seed2)) for seed, seed2 in [(7, 0), (7, 0), (0, 7),
                                                                                                   (7, 1)]]
    assert np.array_equal(seeded[0], seeded[1])
    assert not np.array_equal(seeded[0], seeded[2]) and not np.array_equal(seeded[0], seeded[3])
    unseeded = [run1(backend, op, inputs, attrs) for _ in range(2)]
    assert not np.array_equal(unseeded[0], unseeded[1])


# -- WebGL concerns: squarified textures, rank 6/7, values and indices made on the GPU ------------------

BIG = 16384 + 1617  # longer than one texture row, so the texture holding it is squarified


@pytest.mark.parametrize("value", [np.float32(np.nan), np.int32(-9), np.bool_(True)], ids=repr)
def test_fill_wide_and_high_rank(backend, value):
    check(backend, "Fill", [i32([BIG]), value])
    check(backend, "Fill", [i32([2, 1, 3, 2, 1, 2, 3]), value])  # rank 7: fills run flat


@pytest.mark.parametrize("op", ["OnesLike", "ZerosLike"])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_ones_zeros_like_wide_and_rank6(backend, rng, op, dtype):
    check(backend, op, [rand(rng, (2, BIG), dtype, specials=True)])
    check(backend, op, [rand(rng, (2, 1, 3, 1, 2, 3), dtype, specials=True)])


def test_one_hot_wide_and_rank5(backend, rng):
    check(backend, "OneHot", [i32([0, BIG - 1, 7, -1, BIG]), np.int32(BIG), np.float32(np.inf), np.float32(np.nan)])
    indices = rng.integers(-1, 5, (2, 1, 3, 2, 2)).astype(np.int32)
    check(backend, "OneHot", [indices, np.int32(4), np.int32(3), np.int32(-1)], {"axis": 2})
    check(backend, "OneHot", [indices, np.int32(4), np.bool_(True), np.bool_(False)], {"axis": -1})


def test_fill_and_one_hot_from_gpu_values(webgl):
    """A fill value and indices made on the GPU are read there (no download)."""
    import engine
    from tests.kernels.harness import to_tensor
    impl = engine.get_backend(webgl)
    source = to_tensor(np.float32([2.5, 3.7, -1, 0]))
    impl.texture_of(source)
    on_gpu = impl.run("Cast", [source], {"DstT": "int32"})[0]  # [2, 3, -1, 0], on the GPU only
    downloads = impl.stats.downloads
    value = impl.run("Slice", [on_gpu, to_tensor(i32([1])), to_tensor(i32([1]))])[0]
    filled = impl.run("Fill", [to_tensor(i32([3, 2])), impl.run("Reshape", [value, to_tensor(i32([]))])[0]])[0]
    hot = impl.run("OneHot", [on_gpu, to_tensor(np.int32(4)), to_tensor(np.float32(1)), to_tensor(np.float32(0))])[0]
    assert impl.stats.downloads == downloads
    np.testing.assert_array_equal(filled.numpy(), np.full((3, 2), 3, np.int32))
    np.testing.assert_array_equal(hot.numpy(), np.eye(4, dtype=np.float32)[[2, 3, 0, 0]] * [[1], [1], [0], [1]])
