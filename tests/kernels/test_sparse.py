"""Sparse ops against tf.raw_ops: SparseFillEmptyRows, SparseReshape and the segment reductions
SparseSegmentSum/SparseSegmentMean, with empty rows and segments, gaps, unsorted and out-of-range ids
(TensorFlow's errors)."""
import numpy as np
import pytest

from tests.kernels.harness import assert_rejects, check, rand, tf

pytestmark = pytest.mark.tf


def i64(values) -> np.ndarray:
    return np.array(values, np.int64)


def no_indices(rank: int) -> np.ndarray:
    return np.zeros((0, rank), np.int64)


@pytest.mark.parametrize("indices, dense_shape", [
    ([[1, 0], [3, 2], [1, 1]], [5, 4]),        # empty rows 0, 2 and 4; rows out of order
    ([[0, 0], [1, 2]], [2, 4]),                # nothing to fill, ordered: the input as it is
    ([[1, 0], [0, 3]], [2, 4]),                # nothing to fill, unordered
    ([[2, 0, 1], [2, 1, 0], [0, 0, 0]], [4, 2, 2]),
    ([[0]], [3]),
], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32", "string", "bool"])
def test_sparse_fill_empty_rows(backend, rng, indices, dense_shape, dtype):
    values = rand(rng, (len(indices),), dtype)
    default = rand(rng, (), dtype)
    check(backend, "SparseFillEmptyRows", [i64(indices), values, i64(dense_shape), default])


@pytest.mark.parametrize("dense_shape", [[0, 4], [3, 4]], ids=str)
def test_sparse_fill_empty_rows_without_entries(backend, dense_shape):
    check(backend, "SparseFillEmptyRows", [no_indices(2), np.zeros(0, np.float32), i64(dense_shape), np.float32(7)])


@pytest.mark.parametrize("indices, dense_shape, values, default, says", [
    ([[5, 0]], [2, 4], [1.0], -1.0, r"indices\(0, 0\) is invalid: 5 >= 2"),
    ([[0, 0], [-1, 0]], [2, 4], [1.0, 2.0], -1.0, r"indices\(1, 0\) is invalid"),
    ([[0, 0]], [0, 4], [1.0], -1.0, r"dense_shape\[0\] = 0 but indices.shape\[0\] = 1"),
    ([[0, 0]], [2, 4], [1.0, 2.0], -1.0, "The length of `values` \\(2\\)"),
    ([[0, 0]], [2, 4, 1], [1.0], -1.0, "The length of `dense_shape` \\(3\\)"),
    ([[0, 0]], [2, 4], [1.0], [-1.0], "default_value must be a scalar"),
])
def test_sparse_fill_empty_rows_rejects_what_tensorflow_rejects(backend, indices, dense_shape, values, default, says):
    inputs = [i64(indices), np.array(values, np.float32), i64(dense_shape), np.array(default, np.float32)]
    with pytest.raises(tf().errors.InvalidArgumentError, match=says):
        tf().raw_ops.SparseFillEmptyRows(indices=inputs[0], values=inputs[1], dense_shape=inputs[2],
                                         default_value=inputs[3])
    assert_rejects(backend, "SparseFillEmptyRows", inputs, match=says)


@pytest.mark.parametrize("indices, shape, new_shape", [
    ([[0, 1], [1, 2]], [2, 3], [3, -1]),
    ([[0, 1], [1, 2], [0, 0]], [2, 3], [6]),
    ([[0, 0, 1], [1, 1, 2]], [2, 2, 3], [-1, 2, 3, 1]),
    ([[0, 1], [1, 2]], [2, 3], [2, 3]),
    ([[5, 1]], [2, 3], [6]),                   # an index outside its shape is moved all the same
    (no_indices(2), [0, 3], [-1, 5]),
    (no_indices(0), [], [1, 1]),
    ([[0]], [1], []),
], ids=str)
def test_sparse_reshape(backend, indices, shape, new_shape):
    indices = i64(indices) if np.ndim(indices) == 2 else i64(indices).reshape(-1, len(shape))
    check(backend, "SparseReshape", [indices, i64(shape), i64(new_shape)])


@pytest.mark.parametrize("indices, shape, new_shape, says", [
    ([[0, 1]], [2, 3], [-1, -1], "only one output dimension may be -1, not both 0 and 1"),
    ([[0, 1]], [2, 3], [4, -1], "requires a multiple of 4"),
    ([[0, 1]], [2, 3], [7], "the requested shape has 7"),
    ([[0, 1]], [2, 3], [-2, 3], "size 0 must be non-negative, not -2"),
    (no_indices(2), [0, 3], [0, -1], "cannot infer the missing input size for an empty tensor"),
    ([[0, 1, 1]], [2, 3], [6], "Input tensor rank must match input shape length"),
])
def test_sparse_reshape_rejects_what_tensorflow_rejects(backend, indices, shape, new_shape, says):
    inputs = [i64(indices), i64(shape), i64(new_shape)]
    with pytest.raises(tf().errors.InvalidArgumentError, match=says):
        tf().raw_ops.SparseReshape(input_indices=inputs[0], input_shape=inputs[1], new_shape=inputs[2])
    assert_rejects(backend, "SparseReshape", inputs, match=says)


SEGMENTS = [
    ([0, 1, 3], [0, 0, 2]),                    # a gap (segment 1 is empty: zeros)
    ([3, 3, 0, 1], [0, 1, 1, 1]),              # an index used twice
    ([0, 1], [2, 2]),                          # leading empty segments
    ([2], [0]),
    ([], []),                                  # no segments at all
]


@pytest.mark.parametrize("op", ["SparseSegmentSum", "SparseSegmentMean"])
@pytest.mark.parametrize("indices, segment_ids", SEGMENTS, ids=str)
@pytest.mark.parametrize("index_dtype", ["int32", "int64"])
def test_sparse_segment_reductions(backend, rng, op, indices, segment_ids, index_dtype):
    data = rand(rng, (4, 3, 2))
    check(backend, op, [data, np.array(indices, index_dtype), np.array(segment_ids, index_dtype)])


def test_sparse_segment_sum_of_ints_and_vectors(backend, rng):
    check(backend, "SparseSegmentSum", [rand(rng, (5, 3), "int32", -9, 9), i64([4, 0, 2]), i64([0, 1, 1])])
    check(backend, "SparseSegmentMean", [rand(rng, (5,)), i64([4, 0, 2]), i64([0, 1, 1])])


@pytest.mark.parametrize("indices, segment_ids, says", [
    ([0, 1], [1, 0], "segment ids are not increasing"),
    ([0, 1], [0, -1], "segment ids must be >= 0"),
    ([0, 1], [-1, 0], r"Segment id -1 out of range \[0, 1\), possibly because 'segment_ids' input is not sorted"),
    ([0, 4], [0, 1], r"Bad: indices\[1\] == 4 out of range \[0, 4\)"),
    ([0, -1], [0, 1], r"Bad: indices\[1\] == -1 out of range \[0, 4\)"),
    ([0, 1], [0], "segment_ids and indices should have same size"),
    ([[0, 1]], [[0, 1]], "indices should be a vector"),
])
@pytest.mark.parametrize("op", ["SparseSegmentSum", "SparseSegmentMean"])
def test_sparse_segment_reductions_reject_what_tensorflow_rejects(backend, op, indices, segment_ids, says):
    inputs = [np.ones((4, 3), np.float32), np.array(indices, np.int32), np.array(segment_ids, np.int32)]
    with pytest.raises(tf().errors.InvalidArgumentError, match=says):
        getattr(tf().raw_ops, op)(data=inputs[0], indices=inputs[1], segment_ids=inputs[2])
    assert_rejects(backend, op, inputs, match=says)
