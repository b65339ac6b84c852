"""Reduction ops against tf.raw_ops: axis forms, keep_dims, dtypes, empty tensors, NaN/Inf, ties."""
import numpy as np
import pytest

from tests.kernels.harness import assert_rejects, check, gpu_ints, rand, run_engine, tf

pytestmark = pytest.mark.tf

REDUCE = ["Sum", "Prod", "Mean", "Max", "Min"]
AXES = [np.int32(1), np.array([0, -1], np.int32), np.int32(-2), np.array([], np.int32), np.array([2, 0, 1], np.int64)]


def check_reduce(backend, op, x, axis, keep_dims=False, **kwargs):
    """The harness maps inputs by OpDef name ('reduction_indices'); raw_ops spells that one 'axis'."""
    def reference(x, axis):
        return getattr(tf().raw_ops, op)(input=x, axis=axis, keep_dims=keep_dims)

    return check(backend, op, [x, axis], {"keep_dims": keep_dims}, reference=reference, **kwargs)


@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("axis", AXES, ids=lambda a: str(a.tolist()))
@pytest.mark.parametrize("keep_dims", [False, True])
def test_reduce_float(backend, rng, op, axis, keep_dims):
    x = rand(rng, (3, 4, 5), low=0.5 if op == "Prod" else -3.0, high=1.5 if op == "Prod" else 3.0, specials=True)
    check_reduce(backend, op, x, axis, keep_dims)


@pytest.mark.parametrize("op", REDUCE)
def test_reduce_int(backend, rng, op):
    """Mean truncates toward zero like TensorFlow's integer division. Integer products wrap past 2^31
    (as here), which float textures cannot hold: the GL kernel leaves them to the CPU."""
    x = rand(rng, (4, 6), "int32", -9, 9)
    for axis in (np.int32(0), np.array([1], np.int32), np.array([0, 1], np.int32)):
        check_reduce(backend, op, x, axis, allow_fallback=op == "Prod")


@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_reduce_empty_gives_identity(backend, op, dtype):
    x = np.zeros((0, 3), dtype)
    check_reduce(backend, op, x, np.int32(0))
    check_reduce(backend, op, x, np.array([0, 1], np.int32), keep_dims=True)
    check_reduce(backend, op, x, np.int32(1))


@pytest.mark.parametrize("op", REDUCE + ["All", "Any"])
def test_reduce_scalar(backend, op):
    x = np.array(True) if op in ("All", "Any") else np.float32(2.5)
    check_reduce(backend, op, x, np.array([], np.int32))


def test_reduce_complex(backend, rng):
    x = rand(rng, (3, 4), "complex64")
    for op in ("Sum", "Prod", "Mean"):
        check_reduce(backend, op, x, np.int32(1), allow_fallback=True)  # complex stays on the CPU


def test_max_min_nan_beats_inf(backend):
    x = np.array([[np.nan, np.inf, -np.inf], [1.0, np.inf, 2.0], [-np.inf, 0.0, np.nan]], np.float32)
    for op in ("Max", "Min"):
        check_reduce(backend, op, x, np.int32(1))
        check_reduce(backend, op, x, np.int32(0))


@pytest.mark.parametrize("axis", [[1, -1], [2], [-3]])
def test_reduce_rejects_repeated_or_out_of_range_axes(backend, axis):
    assert_rejects(backend, "Sum", [np.ones((2, 3), np.float32), np.array(axis, np.int32)])


@pytest.mark.parametrize("op", ["All", "Any"])
def test_all_any(backend, rng, op):
    x = rand(rng, (3, 4, 2), "bool")
    for axis in (np.int32(1), np.array([0, 2], np.int32), np.array([], np.int32)):
        check_reduce(backend, op, x, axis, keep_dims=True)
    check_reduce(backend, op, np.zeros((0, 2), bool), np.int32(0))


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("output_type", ["int32", "int64"])
def test_arg_extremum(backend, rng, op, output_type):
    """Ties pick the first index: integer inputs drawn from a small range have many."""
    for x in (rand(rng, (4, 5, 3), specials=True), rand(rng, (4, 5, 3), "int32", -2, 2)):
        for axis in (0, -1, 1):
            check(backend, op, [x, np.int32(axis)], {"output_type": output_type})
    check(backend, op, [np.zeros((0, 3), np.float32), np.int32(1)], {"output_type": output_type})


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_arg_extremum_nan_and_infinities(backend, op):
    """TensorFlow skips NaN, and reports 0 where nothing beats the lowest (highest) finite float."""
    lowest = np.finfo(np.float32).min
    x = np.array([[np.nan, np.nan], [np.nan, -np.inf], [-np.inf, np.nan], [np.nan, np.inf], [3.0, np.nan],
                  [np.nan, lowest], [-np.inf, -np.inf], [np.inf, np.inf], [np.nan, 1.0]], np.float32)
    x = np.concatenate([x, -x])
    check(backend, op, [x, np.int32(1)])


def test_arg_max_bool(backend):
    check(backend, "ArgMax", [np.array([[False, True, True], [False, False, False]]), np.int32(1)])


@pytest.mark.parametrize("op", ["Cumsum", "Cumprod"])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan(backend, rng, op, exclusive, reverse):
    attrs = {"exclusive": exclusive, "reverse": reverse}
    x = rand(rng, (3, 4, 5), low=0.5, high=1.5) if op == "Cumprod" else rand(rng, (3, 4, 5), specials=True)
    for axis in (0, 2, -2):
        check(backend, op, [x, np.int32(axis)], attrs)
    check(backend, op, [rand(rng, (4, 6), "int32", -3, 3), np.int32(1)], attrs)
    check(backend, op, [np.zeros((2, 0), np.float32), np.int32(1)], attrs)


def test_bincount(backend, rng):
    arr = rand(rng, (20,), "int32", 0, 7)
    check(backend, "Bincount", [arr, np.int32(5), np.zeros((0,), np.float32)])
    check(backend, "Bincount", [arr, np.int32(9), rand(rng, (20,))])
    check(backend, "Bincount", [arr, np.int32(5), rand(rng, (20,), "int32", -4, 4)])
    check(backend, "Bincount", [arr.reshape(4, 5), np.int32(6), np.zeros((0,), np.int32)])
    check(backend, "Bincount", [np.zeros((0,), np.int32), np.int32(3), np.zeros((0,), np.float32)])
    check(backend, "Bincount", [arr, np.int32(0), np.zeros((0,), np.float32)])


@pytest.mark.parametrize("binary_output", [False, True])
def test_dense_bincount(backend, rng, binary_output):
    attrs = {"binary_output": binary_output}
    for shape in ((15,), (3, 8)):
        values = rand(rng, shape, "int32", 0, 6)
        check(backend, "DenseBincount", [values, np.int32(5), np.zeros((0,), np.float32)], attrs)
        check(backend, "DenseBincount", [values, np.int32(7), rand(rng, shape)], attrs)
        check(backend, "DenseBincount", [values, np.int32(4), rand(rng, shape, "int32", 0, 5)], attrs)
        check(backend, "DenseBincount", [values.astype(np.int64), np.int64(5), np.zeros((0,), np.int64)], attrs)


# -- WebGL concerns: long rows (several windowed passes), odd shapes, NaN in later windows, int32 -----------
LONG = 100000


@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min"])
def test_reduce_long_rows(backend, rng, op):
    """100000 values take two passes (windows of 317, then one of 316) over a near-square texture;
    int32 sums stay exact below 2^24."""
    check_reduce(backend, op, rand(rng, (LONG,), low=0.0, high=1.0), np.int32(0))
    check_reduce(backend, op, rand(rng, (LONG,), "int32", -50, 100), np.int32(0), keep_dims=True)
    check_reduce(backend, op, rand(rng, (2, 3, 7001)), np.array([0, 2], np.int32))
    x = rand(rng, (3, 5000))
    x[1, 4321] = np.nan
    x[2, 3000] = np.inf
    check_reduce(backend, op, x, np.int32(1))


def test_prod_all_any_long_rows(backend, rng):
    check_reduce(backend, "Prod", rand(rng, (2, 5000), low=0.999, high=1.001), np.int32(1))
    x = np.ones((2, LONG), bool)
    x[0, 77777] = False
    check_reduce(backend, "All", x, np.int32(1))
    check_reduce(backend, "Any", ~x, np.int32(1))


@pytest.mark.parametrize("op", REDUCE)
def test_reduce_odd_shapes_and_axes(backend, rng, op):
    """Reduced axes that are not the last ones are transposed last first; ranks up to 6."""
    low, high = (0.5, 1.5) if op == "Prod" else (-3.0, 3.0)
    check_reduce(backend, op, rand(rng, (7, 13, 5, 3), low=low, high=high, specials=True),
                 np.array([0, 2], np.int32), keep_dims=True)
    check_reduce(backend, op, rand(rng, (2, 3, 1, 4, 5, 2), low=low, high=high), np.array([1, 4], np.int32))


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_arg_extremum_long_rows(backend, rng, op):
    """Candidates from several windows: ties across windows keep the first index; NaN never wins."""
    x = rand(rng, (3, LONG // 3))
    extreme = 5.0 if op == "ArgMax" else -5.0
    x[0, [20000, 4000, 31000]] = extreme
    x[1, :] = np.nan
    x[1, 25000] = extreme
    x[2, :] = -np.inf if op == "ArgMax" else np.inf
    check(backend, op, [x, np.int32(1)])
    check(backend, op, [np.ascontiguousarray(x[:, :3000].T), np.int32(0)], {"output_type": "int32"})
    check(backend, op, [rand(rng, (2, 5000), "int32", -1000, 1000), np.int32(-1)])


@pytest.mark.parametrize("op", ["Cumsum", "Cumprod"])
@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True), (True, True)])
def test_scan_long_axes(backend, rng, op, exclusive, reverse):
    """Axes past 128 take log2(n) Hillis-Steele passes; int32 sums stay exact."""
    attrs = {"exclusive": exclusive, "reverse": reverse}
    low, high = (0.998, 1.002) if op == "Cumprod" else (-3.0, 3.0)
    check(backend, op, [rand(rng, (3, 1000), low=low, high=high), np.int32(1)], attrs)
    check(backend, op, [rand(rng, (700, 3), low=low, high=high), np.int32(0)], attrs)
    if op == "Cumsum":
        check(backend, op, [rand(rng, (2, 3000), "int32", -100, 100), np.int32(1)], attrs)
        x = rand(rng, (2, 300))
        x[0, 100], x[1, 200] = np.nan, np.inf
        check(backend, op, [x, np.int32(1)], attrs)


def test_bincount_long_rows(backend, rng):
    """Rows of values longer than one texture row and than llvmpipe's 65535 loop iterations per
    fragment (the shader reads 16 values per iteration); NaN/Inf weights; int32 weights."""
    arr = rand(rng, (LONG,), "int32", 0, 320)  # values past the 300 bins are dropped
    check(backend, "Bincount", [arr, np.int32(300), np.zeros((0,), np.float32)])
    check(backend, "Bincount", [arr, np.int32(300), rand(rng, (LONG,), specials=True)])
    check(backend, "Bincount", [arr.reshape(200, 500), np.int32(300), rand(rng, (200, 500), "int32", -9, 9)])
    for binary_output in (False, True):
        values = rand(rng, (3, 40001), "int32", 0, 120)
        check(backend, "DenseBincount", [values, np.int32(100), rand(rng, (3, 40001))],
              {"binary_output": binary_output})
        check(backend, "DenseBincount", [values[0], np.int32(100), np.zeros((0,), np.int32)],
              {"binary_output": binary_output})


def test_bincount_rejects(backend, rng):
    assert_rejects(backend, "Bincount", [np.int32([1, -1, 2]), np.int32(4), np.zeros((0,), np.float32)],
                   match="non-negative")
    assert_rejects(backend, "DenseBincount", [np.int32([1, 2]), np.int32(-1), np.zeros((0,), np.float32)],
                   match="non-negative")


def test_bincount_large_inputs_run_on_cpu(webgl, rng):
    """Rows over ~1e6 values, or more bin x value steps than one draw should loop over, run on the CPU."""
    import engine
    stats = engine.get_backend("webgl").stats
    before = stats.cpu_fallbacks.get("Bincount", 0)
    check(webgl, "Bincount", [rand(rng, (1000001,), "int32", 0, 4), np.int32(4), np.zeros((0,), np.float32)],
          allow_fallback=True)
    check(webgl, "Bincount", [rand(rng, (LONG,), "int32", 0, 999), np.int32(1000), np.zeros((0,), np.float32)],
          allow_fallback=True)
    assert stats.cpu_fallbacks.get("Bincount", 0) == before + 2


def test_bincount_gpu_values(webgl):
    """Values made on the GPU are not read back: negative ones land in no bin (TensorFlow rejects them)."""
    import engine
    from tests.kernels.harness import to_tensor
    impl = engine.get_backend("webgl")
    before = impl.stats.cpu_fallbacks.get("Bincount", 0)
    values = gpu_ints(impl, [-1, 0, 2, 2, 7, 3])
    got = impl.run("Bincount", [values, to_tensor(np.int32(4)), to_tensor(np.zeros((0,), np.int32))])[0].numpy()
    np.testing.assert_array_equal(got, np.int32([1, 0, 2, 1]))
    assert impl.stats.cpu_fallbacks.get("Bincount", 0) == before


# (data shape, segment ids shape, num_segments): ids of rank 2, an empty segment, ids past the end of
# data's dims, no ids, no segments (all ids negative), a scalar id.
SEGMENT_CASES = [((40, 3), (40,), 6), ((4, 5, 2), (4, 5), 3), ((7,), (7,), 9), ((0, 3), (0,), 2), ((5, 2), (5,), 0),
                 ((), (), 2), ((3, 0), (3,), 4)]


@pytest.mark.parametrize("shapes", SEGMENT_CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_unsorted_segment_sum(backend, rng, shapes, dtype):
    """Negative ids are dropped; NaN and infinities stay in their own segment."""
    data_shape, ids_shape, num = shapes
    low = -2 if num else -3
    ids = rng.integers(low, max(num, 1), ids_shape).astype(np.int32) if num else np.full(ids_shape, -1, np.int32)
    check(backend, "UnsortedSegmentSum", [rand(rng, data_shape, dtype, -4, 4, specials=True), ids, np.int32(num)])
    check(backend, "UnsortedSegmentSum", [rand(rng, data_shape, dtype), ids.astype(np.int64), np.int64(num)])


@pytest.mark.parametrize("ids,num,match", [([0, 3, 1], 3, r"segment_ids\[1\] = 3 is out of range"),
                                           ([0, 1], 0, "out of range"), ([0, 1], -1, "must not be negative")])
def test_unsorted_segment_sum_rejects(backend, ids, num, match):
    data = np.ones((len(ids), 2), np.float32)
    assert_rejects(backend, "UnsortedSegmentSum", [data, np.array(ids, np.int32), np.int32(num)], match=match)
    assert_rejects(backend, "UnsortedSegmentSum", [data, np.zeros((len(ids) + 1,), np.int32), np.int32(2)],
                   match="does not start with")


def test_unsorted_segment_sum_gpu_ids(webgl, rng):
    """Ids made on the GPU are used without reading them back; past the last segment they are dropped."""
    import engine
    from tests.kernels.harness import to_tensor
    impl = engine.get_backend("webgl")
    before = impl.stats.cpu_fallbacks.get("UnsortedSegmentSum", 0)
    data = rand(rng, (6, 4))
    ids = gpu_ints(impl, [2, 0, -1, 2, 5, 1])
    got = impl.run("UnsortedSegmentSum", [to_tensor(data), ids, to_tensor(np.int32(3))])[0].numpy()
    np.testing.assert_array_equal(got, np.stack([data[1], data[5], data[0] + data[3]]))
    assert impl.stats.cpu_fallbacks.get("UnsortedSegmentSum", 0) == before


def test_unsorted_segment_sum_refuses_an_output_past_the_limits(backend):
    from engine.errors import ResourceLimitError
    with pytest.raises(ResourceLimitError):
        run_engine(backend, "UnsortedSegmentSum", [np.ones((2, 3), np.float32), np.int32([0, 1]), np.int32(1 << 30)])
