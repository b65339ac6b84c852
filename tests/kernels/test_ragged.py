"""Ragged ops against tf.raw_ops: RaggedRange, RaggedGather and RaggedTensorToTensor, with empty
rows, every row-partition type TF.js accepts (ROW_SPLITS; FIRST_DIM_SIZE with VALUE_ROWIDS) and
TensorFlow's errors."""
import numpy as np
import pytest

from tests.kernels.harness import assert_rejects, check, rand, tf

pytestmark = pytest.mark.tf


def i64(values) -> np.ndarray:
    return np.array(values, np.int64)


@pytest.mark.parametrize("starts, limits, deltas", [
    ([0, 5, 3, 2], [4, 5, 0, 9], [1, 2, -1, 3]),     # an empty row, a descending row
    (2, [5, 0, 10], 2),                              # scalars broadcast
    ([1], [4], [5]),
    (0, 6, 4),
    ([3, 1], [1, 3], [1, -1]),                       # deltas pointing away: empty rows
], ids=str)
@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
@pytest.mark.parametrize("splits", ["int32", "int64"])
def test_ragged_range(backend, starts, limits, deltas, dtype, splits):
    check(backend, "RaggedRange", [np.array(v, dtype) for v in (starts, limits, deltas)], {"Tsplits": splits})


def test_ragged_range_of_fractional_steps(backend):
    """Values accumulate the delta step by step in float32, as TensorFlow's do."""
    starts, limits, deltas = (np.array(v, np.float32) for v in ([0.1, -1.0, 2.0], [1.0, 1.0, 2.5], [0.1, 0.3, 0.7]))
    check(backend, "RaggedRange", [starts, limits, deltas], rtol=0, atol=0)


@pytest.mark.parametrize("starts, limits, deltas, says", [
    ([0, 1], [3, 4], [1, 0], "Requires delta != 0"),
    ([0, 1], [3, 4, 5], [1, 1], "starts, limits, and deltas must have the same shape"),
    ([[0]], [3], [1], "starts must be a scalar or vector"),
])
def test_ragged_range_rejects_what_tensorflow_rejects(backend, starts, limits, deltas, says):
    inputs = [np.array(v, np.int32) for v in (starts, limits, deltas)]
    with pytest.raises((tf().errors.InvalidArgumentError, ValueError), match=says):
        tf().raw_ops.RaggedRange(starts=inputs[0], limits=inputs[1], deltas=inputs[2])
    assert_rejects(backend, "RaggedRange", inputs, match=says)


# params: a ragged [4, (rows), 2] tensor of ragged rank 1, and one of ragged rank 2
RANK1 = ([i64([0, 2, 2, 5, 6])], 6)
RANK2 = ([i64([0, 2, 3, 3]), i64([0, 1, 4, 4, 7])], 7)


@pytest.mark.parametrize("params", [RANK1, RANK2], ids=["ragged rank 1", "ragged rank 2"])
@pytest.mark.parametrize("indices", [[3, 0, 1], [1], [[0, 2], [2, 0]], [], [[[1]], [[0]]]], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "string"])
def test_ragged_gather(backend, rng, params, indices, dtype):
    nested_splits, value_count = params
    values = rand(rng, (value_count, 2), dtype)
    indices = np.array(indices, np.int32)
    row_count = nested_splits[0].size - 1
    indices = np.where(indices < row_count, indices, row_count - 1).astype(np.int32)
    output_rank = indices.ndim - 1 + len(nested_splits)
    check(backend, "RaggedGather", [*nested_splits, values, indices],
          {"OUTPUT_RAGGED_RANK": output_rank, "PARAMS_RAGGED_RANK": len(nested_splits)})


@pytest.mark.parametrize("splits, indices, says", [
    ([0, 2, 5], [2], r"indices\[0\] = 2 is not in \[0, 2\)"),
    ([0, 2, 5], [[0, -1]], r"indices\[0,1\] = -1 is not in \[0, 2\)"),
    ([0, 7], [0], "Ragged splits must not point past values"),
    ([0, 3, 2], [0], "Ragged splits must be sorted"),
    ([-1, 3], [0], "Ragged splits must be non-negative"),
])
def test_ragged_gather_rejects_what_tensorflow_rejects(backend, splits, indices, says):
    inputs = [i64(splits), np.arange(5, dtype=np.float32), np.array(indices, np.int64)]
    attrs = {"OUTPUT_RAGGED_RANK": np.ndim(indices), "PARAMS_RAGGED_RANK": 1}
    with pytest.raises(tf().errors.InvalidArgumentError, match=says):
        tf().raw_ops.RaggedGather(params_nested_splits=[inputs[0]], params_dense_values=inputs[1],
                                  indices=inputs[2], OUTPUT_RAGGED_RANK=attrs["OUTPUT_RAGGED_RANK"])
    assert_rejects(backend, "RaggedGather", inputs, attrs, match=says)


def to_tensor(backend, shape, values, default, partitions, types):
    check(backend, "RaggedTensorToTensor", [np.array(shape, np.int64), values, default, *partitions],
          {"row_partition_types": types, "num_row_partition_tensors": len(partitions)})


@pytest.mark.parametrize("shape", [-1, [-1, -1], [3, 2], [5, 4], [2, -1], [-1, 1], [0, 3]], ids=str)
@pytest.mark.parametrize("default", [0.0, 9.5])
def test_ragged_to_tensor_from_row_splits(backend, rng, shape, default):
    """Rows cut to the shape or padded with the default; -1: the longest row (the number of rows)."""
    values = rand(rng, (6,))
    to_tensor(backend, shape, values, np.float32(default), [i64([0, 3, 3, 5, 6])], ["ROW_SPLITS"])


@pytest.mark.parametrize("shape", [-1, [4, 3], [2, 1], [6, -1]], ids=str)
def test_ragged_to_tensor_from_value_row_ids(backend, rng, shape):
    """FIRST_DIM_SIZE then VALUE_ROWIDS, with empty rows between and after the ids."""
    values = rand(rng, (6,), "int32", -9, 9)
    to_tensor(backend, shape, values, np.int32(-1), [i64(4), i64([0, 0, 0, 2, 2, 3])],
              ["FIRST_DIM_SIZE", "VALUE_ROWIDS"])


@pytest.mark.parametrize("types, partitions", [
    (["ROW_SPLITS", "ROW_SPLITS"], [[0, 2, 2, 4], [0, 1, 4, 4, 7]]),
    (["FIRST_DIM_SIZE", "VALUE_ROWIDS", "VALUE_ROWIDS"], [3, [0, 0, 2, 2], [0, 1, 1, 1, 3, 3, 3]]),
    (["FIRST_DIM_SIZE", "VALUE_ROWIDS", "ROW_SPLITS"], [3, [0, 0, 2, 2], [0, 1, 4, 4, 7]]),
], ids=["splits, splits", "ids, ids", "ids, splits"])
@pytest.mark.parametrize("shape", [-1, [3, 2, 2], [2, 4, 3]], ids=str)
def test_ragged_to_tensor_of_ragged_rank_2_with_inner_dims(backend, rng, types, partitions, shape):
    values = rand(rng, (7, 2), "string")
    shape = shape if shape == -1 else [*shape, 2]
    to_tensor(backend, shape, values, np.array(b"pad", dtype=object), [i64(p) for p in partitions], types)


@pytest.mark.parametrize("default_shape", [(), (2, 3), (2, 1), (1,)], ids=str)
def test_ragged_to_tensor_broadcasts_the_default_over_inner_dims(backend, rng, default_shape):
    values = rand(rng, (4, 2, 3))
    to_tensor(backend, -1, values, rand(rng, default_shape), [i64([0, 1, 4])], ["ROW_SPLITS"])
    to_tensor(backend, [3, 3, 2, 3], values, rand(rng, default_shape), [i64([0, 1, 4])], ["ROW_SPLITS"])


def test_ragged_to_tensor_of_empty_inputs(backend):
    to_tensor(backend, -1, np.zeros(0, np.float32), np.float32(0), [i64([0])], ["ROW_SPLITS"])
    to_tensor(backend, [-1, 2], np.zeros(0, np.float32), np.float32(3), [i64([0, 0, 0])], ["ROW_SPLITS"])
    to_tensor(backend, -1, np.zeros(0, np.float32), np.float32(3), [i64(2), i64([])],
              ["FIRST_DIM_SIZE", "VALUE_ROWIDS"])


@pytest.mark.parametrize("shape, partitions, types, says", [
    ([2, 2, 2], [[0, 1, 3]], ["ROW_SPLITS"], "are incompatible"),
    (-1, [[0, 1, 3]], ["VALUE_ROWIDS"], "Cannot handle VALUE_ROWIDS in first dimension"),
    (-1, [2, [0, 2]], ["FIRST_DIM_SIZE", "VALUE_ROWIDS"], "2"),
    (-1, [[0, 1, 3]], ["ROW_LENGTHS"], "ROW_LENGTHS"),
    (-1, [[0, 1, 3]], ["ROW_SPLITS"], "default_value.shape=\\[3\\] and rt_input.flat_values.shape=\\[3\\]"),
])
def test_ragged_to_tensor_rejects_what_tensorflow_rejects(backend, shape, partitions, types, says):
    default = np.zeros(3 if "default_value" in says else (), np.float32)
    inputs = [np.array(shape, np.int64), np.arange(3, dtype=np.float32), default, *(i64(p) for p in partitions)]
    with pytest.raises(tf().errors.InvalidArgumentError):
        tf().raw_ops.RaggedTensorToTensor(shape=inputs[0], values=inputs[1], default_value=inputs[2],
                                          row_partition_tensors=inputs[3:], row_partition_types=types)
    assert_rejects(backend, "RaggedTensorToTensor", inputs, {"row_partition_types": types}, match=says)
