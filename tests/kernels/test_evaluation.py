"""Evaluation ops against tf.raw_ops: sorted search, top-k (ties, k edge cases), unique (order, NaN, axes)."""
import numpy as np
import pytest

import engine
from engine.kernels.webgl import evaluation as gl_evaluation
from tests.kernels.harness import check, rand, run_drawn, run_engine, run_tf

pytestmark = pytest.mark.tf


def _sorted_rows(rng, shape, dtype):
    return np.sort(rand(rng, shape, dtype, -5, 5), axis=-1)


@pytest.mark.parametrize("op", ["LowerBound", "UpperBound"])
@pytest.mark.parametrize("shapes", [((3, 10), (3, 7)), ((1, 1), (1, 4)), ((2, 0), (2, 3)), ((4, 6), (4, 0)),
                                    ((1, 33), (1, 9))], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("out_type", ["int32", "int64"])
def test_search_sorted(backend, rng, op, shapes, dtype, out_type):
    """Integer rows repeat values, so exact hits and runs of equal values are exercised."""
    sorted_inputs = _sorted_rows(rng, shapes[0], dtype)
    values = rand(rng, shapes[1], dtype, -6, 6)
    check(backend, op, [sorted_inputs, values], {"out_type": out_type})


@pytest.mark.parametrize("op", ["LowerBound", "UpperBound"])
def test_search_sorted_nan_and_infinities(backend, op):
    sorted_inputs = np.array([[-np.inf, -1, 0, 0, 2, np.inf], [1, 1, 1, 1, 1, 1]], np.float32)
    values = np.array([[np.nan, -np.inf, 0, np.inf, 3], [np.nan, 1, 0, 2, -np.inf]], np.float32)
    check(backend, op, [sorted_inputs, values])


@pytest.mark.parametrize("op", ["LowerBound", "UpperBound"])
def test_search_sorted_with_nan_in_the_rows(backend, op):
    """NaN among the sorted values: the bisection's path decides, as in TensorFlow."""
    sorted_inputs = np.array([[1, np.nan, 3, 4, 5], [np.nan] * 5, [-1, 0, 2, np.nan, np.nan]], np.float32)
    values = np.array([[0, 2, 3.5, np.nan], [0, 1, np.inf, np.nan], [-2, 1, 2, 9]], np.float32)
    check(backend, op, [sorted_inputs, values])


@pytest.mark.parametrize("op", ["LowerBound", "UpperBound"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_search_sorted_long_rows(backend, rng, op, dtype):
    """Rows of 1000 (ten bisection steps), 4096 (one step more than a power of two needs) and batches."""
    for rows, size, count in ((3, 1000, 257), (1, 4096, 64)):
        sorted_inputs = _sorted_rows(rng, (rows, size), dtype)
        check(backend, op, [sorted_inputs, rand(rng, (rows, count), dtype, -6, 6)])


def test_search_sorted_past_exact_float_positions_runs_the_cpu_kernel(webgl, rng, monkeypatch):
    """Positions from 2**24 up are not exact in a float texture: such rows run the CPU kernel (the
    bound lowered to 8 here)."""
    monkeypatch.setattr(gl_evaluation, "FLOAT_EXACT", 8)
    stats = engine.get_backend(webgl).stats
    before = stats.cpu_fallbacks.get("LowerBound", 0)
    check(webgl, "LowerBound", [_sorted_rows(rng, (2, 8), "float32"), rand(rng, (2, 5))], allow_fallback=True)
    assert stats.cpu_fallbacks.get("LowerBound", 0) == before + 1


@pytest.mark.parametrize("op", ["LowerBound", "UpperBound"])
def test_search_sorted_runs_one_program_on_webgl(webgl, op):
    outputs, draws = run_drawn(op, [np.array([[0, 1, 2]], np.float32), np.array([[0.5, 2, 7]], np.float32)])
    assert draws == 1 and outputs[0].tolist() == ([[1, 2, 3]] if op == "LowerBound" else [[1, 3, 3]])


@pytest.mark.parametrize("shape,k", [((10,), 3), ((4, 12), 5), ((2, 3, 9), 9), ((5, 7), 1), ((3, 6), 0),
                                     ((0, 5), 2), ((6,), 6)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_top_k_sorted(backend, rng, shape, k, dtype):
    """Few distinct values: ties must come out lower index first."""
    x = rand(rng, shape, dtype, -3, 3)
    if dtype == "float32":
        x = np.round(x).astype(np.float32)
    check(backend, "TopKV2", [x, np.int32(k)], {"sorted": True})


def test_top_k_extremes(backend):
    x = np.array([[np.inf, -np.inf, 0, -0.0, 3.5, np.inf], [1, 2, 3, 4, 5, 6]], np.float32)
    check(backend, "TopKV2", [x, np.int32(4)])
    ints = np.array([np.iinfo(np.int32).min, 0, np.iinfo(np.int32).max, np.iinfo(np.int32).min], np.int32)
    check(backend, "TopKV2", [ints, np.int32(4)])


def test_top_k_unsorted_selects_the_same_elements(backend, rng):
    """TensorFlow leaves the order unspecified when sorted=False; the selected set must match."""
    x = np.round(rand(rng, (4, 50), "float32", 0, 4)).astype(np.float32)
    for k in (3, 20, 50):
        got_values, got_indices = run_engine(backend, "TopKV2", [x, np.int32(k)], {"sorted": False})
        _, want_indices = run_tf("TopKV2", [x, np.int32(k)], {"sorted": False})
        np.testing.assert_array_equal(np.sort(got_indices, axis=-1), np.sort(want_indices, axis=-1))
        np.testing.assert_array_equal(np.take_along_axis(x, got_indices, -1), got_values)


@pytest.mark.parametrize("n,k", [(1000, 1), (1000, 37), (1000, 128), (1000, 1000), (129, 65), (2, 2), (1, 1)],
                         ids=str)
def test_top_k_long_rows(backend, rng, n, k):
    """Rows padded to a power of two and halved down to k on webgl; many ties (few distinct values)."""
    x = np.round(rand(rng, (3, n), "float32", -20, 20)).astype(np.float32)
    check(backend, "TopKV2", [x, np.int32(k)])


def _top_k_nan_first(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """NaN first, then larger values, ties by lower index (TensorFlow's NaN order changes with its
    algorithm for each k and row length; tfgl keeps this one on every backend)."""
    index = np.broadcast_to(np.arange(x.shape[-1]), x.shape)
    order = np.lexsort((index, -np.nan_to_num(x, nan=0.0), ~np.isnan(x)), axis=-1)[..., :k]
    return np.take_along_axis(x, order, -1), order.astype(np.int32)


@pytest.mark.parametrize("n,k", [(9, 4), (300, 20), (64, 64)], ids=str)
def test_top_k_nan_and_infinities(backend, rng, n, k):
    x = np.round(rand(rng, (4, n), "float32", -3, 3)).astype(np.float32)
    x[:, :3] = [np.nan, np.inf, -np.inf]
    x[1, -3:] = np.nan
    x[2] = -0.0
    x[2, ::3] = 0.0
    got = run_engine(backend, "TopKV2", [x, np.int32(k)])
    want = _top_k_nan_first(x, k)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    finite = np.where(np.isnan(x), -np.inf, x)[[0, 2]]  # without NaN, TensorFlow is the reference
    check(backend, "TopKV2", [finite, np.int32(k)])


def test_top_k_rejects_large_k(backend):
    with pytest.raises(Exception, match="at least k columns"):
        run_engine(backend, "TopKV2", [np.zeros((2, 3), np.float32), np.int32(4)])


@pytest.mark.parametrize("dtype", ["int32", "float32"])
@pytest.mark.parametrize("out_idx", ["int32", "int64"])
def test_unique(backend, rng, dtype, out_idx):
    x = rand(rng, (30,), dtype, -4, 4)
    if dtype == "float32":
        x = np.round(x).astype(np.float32)
    check(backend, "Unique", [x], {"out_idx": out_idx})
    check(backend, "Unique", [x[:0]], {"out_idx": out_idx})


def test_unique_nan_signed_zero_and_strings(backend):
    """Each NaN is distinct, -0.0 equals 0.0 (the first one seen is kept), as TensorFlow's hash map."""
    check(backend, "Unique", [np.array([np.nan, 1, np.nan, -0.0, 0.0, 1, np.inf], np.float32)])
    check(backend, "Unique", [np.array([b"b", b"a", b"", b"a", b"b", b"c"], dtype=object)])


@pytest.mark.parametrize("shape,axis", [((6, 3), 0), ((6, 3), 1), ((4, 5, 2), -2), ((3, 4, 5), 2), ((12,), 0),
                                        ((0, 3), 0), ((0, 3), 1), ((4, 0), 0)], ids=str)
def test_unique_v2(backend, rng, shape, axis):
    x = rand(rng, shape, "int32", 0, 1)  # few distinct slices
    check(backend, "UniqueV2", [x, np.array([axis], np.int64)])


def test_unique_v2_empty_axis_and_float_slices(backend):
    check(backend, "UniqueV2", [np.array([3, 1, 3, 2], np.int32), np.zeros(0, np.int64)])
    rows = np.array([[np.nan, 1], [np.nan, 1], [-0.0, 2], [0.0, 2], [1, 1], [-0.0, 2]], np.float32)
    check(backend, "UniqueV2", [rows, np.array([0], np.int32)])
