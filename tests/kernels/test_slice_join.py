"""Slice/join ops against tf.raw_ops: shapes, dtypes, negative axes, empty tensors, bad indices, and a
table (plus a seeded fuzz) of StridedSlice mask combinations."""
import numpy as np
import pytest

from engine.errors import KernelError
from tests.kernels.harness import assert_rejects, check, gpu_ints, i32, rand, run_engine, run_tf, tf

pytestmark = pytest.mark.tf

DTYPES = ["float32", "int32", "bool", "string"]


def values(rng, shape, dtype="float32"):
    return rand(rng, shape, dtype, specials=dtype == "float32")


# -- concat / pack / unpack / tile ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes,axis", [
    ([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 0)], 1), ([(2, 3, 4), (2, 3, 1)], -1),
    ([(0, 3), (0, 3)], 0), ([(5,), (1,)], 0), ([(1, 2, 3)] * 4, -2),
], ids=str)
def test_concat(backend, rng, dtype, shapes, axis):
    xs = [values(rng, s, dtype) for s in shapes]
    check(backend, "ConcatV2", xs + [i32(axis)], {"N": len(xs)})
    check(backend, "Concat", [i32(axis)] + xs, {"N": len(xs)})


def test_concat_int64_axis_and_errors(backend, rng):
    xs = [rand(rng, (2, 3)), rand(rng, (2, 3))]
    check(backend, "ConcatV2", xs + [np.int64(1)])
    assert_rejects(backend, "ConcatV2", xs + [i32(2)], match="axis")
    assert_rejects(backend, "ConcatV2", [rand(rng, (2, 3)), rand(rng, (3, 3))] + [i32(1)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((3, 4), 0), ((3, 4), 2), ((3, 4), -1), ((), 0), ((0, 2), 1), ((2, 3, 4), -3)],
                         ids=str)
def test_pack_unpack(backend, rng, dtype, shape, axis):
    xs = [values(rng, shape, dtype) for _ in range(3)]
    check(backend, "Pack", xs, {"N": 3, "axis": axis})
    packed = np.stack(xs, axis=axis)
    check(backend, "Unpack", [packed], {"num": 3, "axis": axis})


def test_unpack_empty_axis(backend):
    assert run_engine(backend, "Unpack", [np.zeros((2, 0, 3), np.float32)], {"num": 0, "axis": 1}) == []


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,multiples", [((2, 3), [2, 1]), ((2, 3), [1, 3]), ((2, 1, 3), [2, 4, 0]), ((), []),
                                             ((0, 2), [3, 2]), ((3,), [5])], ids=str)
def test_tile(backend, rng, dtype, shape, multiples):
    check(backend, "Tile", [values(rng, shape, dtype), i32(multiples)])
    check(backend, "Tile", [values(rng, shape, dtype), np.asarray(multiples, np.int64)])


def test_tile_rejects_wrong_length(backend, rng):
    assert_rejects(backend, "Tile", [rand(rng, (2, 3)), i32([2])], match="multiples")


# -- split -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,num", [((6, 4), 0, 3), ((6, 4), 1, 2), ((2, 3, 8), -1, 4), ((5,), 0, 1),
                                            ((0, 4), 1, 2)], ids=str)
def test_split(backend, rng, dtype, shape, axis, num):
    # raw_ops names Split's split_dim input `axis`, which the harness's OpDef mapping misses.
    check(backend, "Split", [i32(axis), values(rng, shape, dtype)], {"num_split": num},
          reference=lambda a, x: tf().raw_ops.Split(axis=a, value=x, num_split=num))


def test_split_uneven_rejected(backend, rng):
    assert_rejects(backend, "Split", [i32(0), rand(rng, (5,))], {"num_split": 2}, match="evenly")


@pytest.mark.parametrize("dtype", ["float32", "int32", "string"])
@pytest.mark.parametrize("shape,sizes,axis", [((7, 3), [2, 5], 0), ((7, 3), [2, -1, 1], 0), ((4, 6), [-1, 0, 6], 1),
                                              ((2, 3, 5), [5], -1), ((2, 3, 5), [0, -1], 2), ((4, 0), [1, 3], 0),
                                              ((7,), [7, -1], 0)],
                         ids=str)
def test_split_v(backend, rng, dtype, shape, sizes, axis):
    check(backend, "SplitV", [values(rng, shape, dtype), i32(sizes), i32(axis)], {"num_split": len(sizes)},
          reference=lambda x, s, a: tf().raw_ops.SplitV(value=x, size_splits=s, axis=a, num_split=len(sizes)))


@pytest.mark.parametrize("sizes", [[2, 2], [3, 3], [-1, -1, 1], [8, -1], [-2, 9]])
def test_split_v_rejects_bad_sizes(backend, rng, sizes):
    assert_rejects(backend, "SplitV", [rand(rng, (7,)), i32(sizes), i32(0)], match="size_splits")


# -- Slice -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,begin,size", [((4, 5), [1, 2], [2, 3]), ((4, 5), [0, 0], [-1, -1]),
                                              ((4, 5, 6), [3, 1, 0], [1, -1, 6]), ((4, 5), [4, 0], [0, 5]),
                                              ((), [], []), ((0, 3), [0, 1], [0, 2])], ids=str)
def test_slice(backend, rng, dtype, shape, begin, size):
    x = values(rng, shape, dtype)
    check(backend, "Slice", [x, i32(begin), i32(size)])
    check(backend, "Slice", [x, np.asarray(begin, np.int64), np.asarray(size, np.int64)])


@pytest.mark.parametrize("begin,size", [([1, 2], [4, 1]), ([-1, 0], [1, 1]), ([0, 6], [1, -1]), ([0, 0], [1, -2]),
                                        ([0], [1])])
def test_slice_rejects_out_of_bounds(backend, rng, begin, size):
    assert_rejects(backend, "Slice", [rand(rng, (4, 5)), i32(begin), i32(size)], match="Slice")


# -- StridedSlice ------------------------------------------------------------------------------------

# (begin, end, strides, masks) on a (4, 5, 6) tensor; masks: begin, end, ellipsis, new_axis, shrink.
STRIDED_CASES = [
    ([0, 0, 0], [4, 5, 6], [1, 1, 1], {}),
    ([1, 2, 3], [3, 4, 5], [1, 1, 1], {}),
    ([0], [2], [1], {}),                                        # fewer entries than dims
    ([-3, -4, -1], [-1, -1, 6], [1, 1, 1], {}),                 # negative begin/end
    ([-100, 1, 0], [100, 100, 100], [1, 2, 3], {}),             # clamping
    ([3, 4, 5], [0, 0, 0], [-1, -1, -1], {}),                   # reverse
    ([3, 4, 5], [0, 0, 0], [-1, -2, -3], {"begin_mask": 0b111, "end_mask": 0b111}),
    ([0, 0, 0], [0, 0, 0], [-1, -1, -1], {"begin_mask": 0b111, "end_mask": 0b111}),  # x[::-1, ::-1, ::-1]
    ([-1, -1, -1], [-100, -100, -100], [-1, -2, -4], {}),
    ([2, 3, 1], [1, 1, 5], [1, 1, 1], {}),                      # empty: end before begin
    ([1, 0, 0], [3, 0, 0], [1, 1, 1], {"end_mask": 0b110}),
    ([1, 2, 3], [0, 0, 0], [1, 1, 1], {"end_mask": 0b111}),
    ([0, 2, 0], [0, 4, 0], [1, 1, 2], {"begin_mask": 0b101, "end_mask": 0b101}),
    ([1], [2], [1], {"shrink_axis_mask": 1}),                   # x[1]
    ([-1], [0], [1], {"shrink_axis_mask": 1}),                  # x[-1]
    ([1, 2, 3], [2, 3, 4], [1, 1, 1], {"shrink_axis_mask": 0b111}),  # scalar
    ([0, -2], [0, -1], [1, 1], {"begin_mask": 1, "end_mask": 1, "shrink_axis_mask": 0b10}),  # x[:, -2]
    ([2, 0], [3, 5], [1, -1], {"shrink_axis_mask": 1, "begin_mask": 0b10, "end_mask": 0b10}),  # x[2, ::-1]
    ([0, 1], [0, 2], [1, 1], {"ellipsis_mask": 1}),             # x[..., 1:2]
    ([0, 1], [0, 2], [1, 1], {"ellipsis_mask": 1, "shrink_axis_mask": 0b10}),  # x[..., 1]
    ([1, 0], [2, 0], [1, 1], {"ellipsis_mask": 0b10}),          # x[1:2, ...]
    ([1, 0, 4], [3, 0, 0], [1, 1, -2], {"ellipsis_mask": 0b10}),  # x[1:3, ..., 4:0:-2]
    ([0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], {"ellipsis_mask": 0b1000}),  # trailing ellipsis
    ([0], [0], [1], {"ellipsis_mask": 1}),                      # x[...]
    ([0, 0], [0, 0], [1, 1], {"new_axis_mask": 1, "begin_mask": 0b10, "end_mask": 0b10}),  # x[None, :]
    ([0, 0, 0], [0, 0, 0], [1, 1, 1], {"new_axis_mask": 0b101}),  # x[None, 0:0, None]
    ([0, 1], [0, 2], [1, 1], {"new_axis_mask": 1, "shrink_axis_mask": 0b11}),  # new axis wins over shrink
    ([0, 0, 2], [0, 0, 3], [1, 1, 1], {"ellipsis_mask": 1, "new_axis_mask": 0b10}),  # x[..., None, 2:3]
    ([0, 0, 0], [0, 0, 0], [1, 1, 1], {"ellipsis_mask": 0b10, "new_axis_mask": 0b101}),  # x[None, ..., None]
    ([0, 0, 3], [0, 0, 4], [1, 1, 1], {"ellipsis_mask": 0b10, "new_axis_mask": 0b11, "shrink_axis_mask": 0b100}),
    ([0, 0, 1, 0], [0, 0, 2, 0], [1, 1, 1, 1],
     {"ellipsis_mask": 0b1, "new_axis_mask": 0b1010, "shrink_axis_mask": 0b100}),  # x[..., None, 1, None]
    ([2, 0, 0, 1], [3, 0, 0, 2], [1, 1, 1, 1], {"shrink_axis_mask": 0b1001, "new_axis_mask": 0b10,
                                                "ellipsis_mask": 0b100}),  # x[2, None, ..., 1]
    ([0, 0, 0], [4, 5, 6], [3, 4, 5], {}),                      # strides larger than half the dim
    ([1, 1, 1], [0, 0, 0], [2, 2, 2], {"begin_mask": 0b101, "end_mask": 0b010}),
    ([0, 0, 0], [1, 1, 1], [1, 1, 1], {"begin_mask": 0b111000, "shrink_axis_mask": 0b111000}),  # bits past the spec
]


@pytest.mark.parametrize("begin,end,strides,masks", STRIDED_CASES, ids=[str(i) for i in range(len(STRIDED_CASES))])
def test_strided_slice_table(backend, rng, begin, end, strides, masks):
    x = values(rng, (4, 5, 6))
    check(backend, "StridedSlice", [x, i32(begin), i32(end), i32(strides)], masks)


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_slice_dtypes_and_int64_spec(backend, rng, dtype):
    x = values(rng, (3, 4), dtype)
    spec = [np.asarray(v, np.int64) for v in ([2, 0], [0, 4], [-1, 2])]
    check(backend, "StridedSlice", [x] + spec, {"end_mask": 1})


@pytest.mark.parametrize("shape,begin,end,strides,masks", [
    ((), [], [], [], {}), ((), [0], [0], [1], {"new_axis_mask": 1}), ((0, 3), [0, 1], [0, 3], [1, 1], {}),
    ((5,), [0], [0], [-1], {"begin_mask": 1}), ((5,), [4], [0], [-1], {"end_mask": 1}),
    ((2, 3, 4, 5), [1, 0, 2], [2, 0, 3], [1, 1, 1], {"ellipsis_mask": 0b10, "shrink_axis_mask": 0b101}),
], ids=str)
def test_strided_slice_shapes(backend, rng, shape, begin, end, strides, masks):
    check(backend, "StridedSlice", [values(rng, shape), i32(begin), i32(end), i32(strides)], masks)


def test_strided_slice_fuzz(backend):
    """Random specs: tfgl agrees with TensorFlow on the values, or both reject the spec."""
    rng = np.random.default_rng(7)
    x = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    for _ in range(300):
        count = int(rng.integers(1, 5))
        begin, end = (i32(rng.integers(-7, 8, count)) for _ in range(2))
        strides = i32(rng.choice([-3, -2, -1, 1, 1, 2, 3], count))
        masks = {name: int(rng.integers(0, 1 << count)) & int(rng.choice([0, -1], p=[0.5, 0.5]))
                 for name in ("begin_mask", "end_mask", "new_axis_mask", "shrink_axis_mask")}
        masks["ellipsis_mask"] = int(1 << rng.integers(0, count)) if rng.random() < 0.3 else 0
        try:
            want = run_tf("StridedSlice", [x, begin, end, strides], masks)[0]
        except Exception:  # TensorFlow rejects the spec
            assert_rejects(backend, "StridedSlice", [x, begin, end, strides], masks)
            continue
        got = run_engine(backend, "StridedSlice", [x, begin, end, strides], masks)[0]
        spec = (begin.tolist(), end.tolist(), strides.tolist(), masks)
        assert got.shape == want.shape and np.array_equal(got, want), spec


@pytest.mark.parametrize("begin,end,strides,masks,match", [
    ([0], [1], [0], {}, "non-zero"),
    ([5], [6], [1], {"shrink_axis_mask": 1}, "out of bounds"),
    ([-5], [6], [1], {"shrink_axis_mask": 1}, "out of bounds"),
    ([1], [0], [-1], {"shrink_axis_mask": 1}, "stride 1"),
    ([0, 0], [1, 1], [1, 1], {"ellipsis_mask": 3}, "ellipses"),
    ([0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1], {}, "index out of range"),
])
def test_strided_slice_rejects(backend, rng, begin, end, strides, masks, match):
    x = rand(rng, (4, 5, 6))
    assert_rejects(backend, "StridedSlice", [x, i32(begin), i32(end), i32(strides)], masks, match=match)


# -- Reverse -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axes", [((4,), [0]), ((3, 4), [1]), ((3, 4), [-2, 1]), ((2, 3, 4), []),
                                        ((2, 0, 4), [1, 2]), ((2, 3, 4, 5), [0, 3, -2])], ids=str)
def test_reverse(backend, rng, dtype, shape, axes):
    x = values(rng, shape, dtype)
    check(backend, "ReverseV2", [x, i32(axes)])
    dims = np.zeros(len(shape), bool)
    dims[[a % len(shape) for a in axes]] = True
    check(backend, "Reverse", [x, dims])


def test_reverse_rejects_repeated_axis(backend, rng):
    assert_rejects(backend, "ReverseV2", [rand(rng, (2, 3)), i32([0, -2])], match="more than once")


# -- gather ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,indices_shape,axis,batch_dims", [
    ((5,), (3,), 0, 0), ((5, 3), (2, 4), 0, 0), ((5, 3), (), 1, 0), ((4, 5, 6), (7,), -1, 0), ((4, 5, 6), (2, 2), 1, 0),
    ((3, 5, 6), (3, 4), 1, 1), ((3, 5, 6), (3, 4), 2, 1), ((3, 5, 6), (3, 5, 2), 2, 2), ((3, 5, 6), (3, 2, 2), -1, 1),
    ((3, 5, 6), (3, 5, 2), 2, -1), ((2, 3, 4, 5), (2, 3, 7), 3, 2), ((2, 3, 4, 5), (2, 4, 2), 3, 1),
    ((4, 0), (3,), 0, 0), ((4, 3), (0, 2), 0, 0), ((3, 5), (3, 0), 1, 1),
], ids=str)
def test_gather_v2(backend, rng, dtype, shape, indices_shape, axis, batch_dims):
    x = values(rng, shape, dtype)
    limit = shape[axis]
    for index_dtype in ("int32", "int64"):
        indices = rng.integers(0, max(limit, 1), indices_shape).astype(index_dtype)
        check(backend, "GatherV2", [x, indices, np.asarray(axis, index_dtype)], {"batch_dims": batch_dims})


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather(backend, rng, dtype):
    check(backend, "Gather", [values(rng, (6, 3), dtype), i32([[5, 0], [2, 2]])])


@pytest.mark.parametrize("op,inputs", [
    ("GatherV2", lambda x: [x, i32([0, 4]), i32(0)]), ("GatherV2", lambda x: [x, i32([-1]), i32(1)]),
    ("Gather", lambda x: [x, i32([7])]),
])
def test_gather_rejects_out_of_range(backend, rng, op, inputs):
    assert_rejects(backend, op, inputs(rand(rng, (4, 5))), match=r"indices\[.*\] = -?\d+ is not in \[0, \d\)")


def test_gather_v2_rejects_bad_batch_dims(backend, rng):
    assert_rejects(backend, "GatherV2", [rand(rng, (3, 4)), i32([[0], [1]]), i32(1)], {"batch_dims": 1},
                   match="batch_dims")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,indices_shape", [
    ((5,), (3, 1)), ((4, 5), (2, 2)), ((4, 5), (3, 1)), ((2, 3, 4), (2, 5, 2)), ((2, 3, 4), (3,)), ((2, 3, 4), (6, 3)),
    ((2, 3), (0, 2)), ((2, 3), (4, 0)),
], ids=str)
def test_gather_nd(backend, rng, dtype, shape, indices_shape):
    depth = indices_shape[-1]
    indices = np.stack([rng.integers(0, shape[k], indices_shape[:-1]) for k in range(depth)], axis=-1) \
        if depth else np.zeros(indices_shape, np.int64)
    x = values(rng, shape, dtype)
    check(backend, "GatherNd", [x, indices.astype(np.int32)])
    check(backend, "GatherNd", [x, indices.astype(np.int64)])


def test_gather_nd_rejects_out_of_range(backend, rng):
    assert_rejects(backend, "GatherNd", [rand(rng, (2, 3, 4)), i32([[0, 1], [1, 3]])], match="does not index")


# -- scatter -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
@pytest.mark.parametrize("shape,indices_shape", [
    ((8,), (4, 1)), ((4, 5), (3, 2)), ((4, 5), (6, 1)), ((3, 4, 5), (2, 2, 2)), ((3, 4), (0, 1)), ((0, 4), (0, 1)),
], ids=str)
def test_scatter_nd_sums_duplicates(backend, rng, dtype, shape, indices_shape):
    depth = indices_shape[-1]
    # Few distinct values per component, so index tuples repeat.
    indices = np.stack([rng.integers(0, min(shape[k], 2), indices_shape[:-1]) for k in range(depth)], axis=-1) \
        if depth else np.zeros(indices_shape, np.int64)
    updates = rand(rng, indices_shape[:-1] + shape[depth:], dtype)
    check(backend, "ScatterNd", [indices.astype(np.int32), updates, i32(shape)])
    check(backend, "ScatterNd", [indices.astype(np.int64), updates, np.asarray(shape, np.int64)])


def test_scatter_nd_rejects(backend, rng):
    assert_rejects(backend, "ScatterNd", [i32([[0], [4]]), rand(rng, (2,)), i32([4])], match="does not index")
    assert_rejects(backend, "ScatterNd", [i32([[0], [1]]), rand(rng, (3,)), i32([4])], match="updates")
    assert_rejects(backend, "ScatterNd", [np.zeros((2, 0), np.int32), rand(rng, (2, 3, 4)), i32([3, 4])], match="empty")
    assert_rejects(backend, "ScatterNd", [i32([[1]]), rand(rng, (1, 0)), i32([3, 0])], match="empty")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,depth", [((8,), 1), ((4, 5), 2), ((4, 5), 1), ((3, 4, 5), 2), ((3, 4, 5), 3)], ids=str)
def test_tensor_scatter_update(backend, rng, dtype, shape, depth):
    cells = [np.unravel_index(i, shape[:depth]) for i in rng.permutation(int(np.prod(shape[:depth])))[:3]]
    indices = np.array(cells, np.int32).reshape(len(cells), depth)
    x = values(rng, shape, dtype)
    updates = values(rng, (len(cells),) + shape[depth:], dtype)
    check(backend, "TensorScatterUpdate", [x, indices, updates])


def test_tensor_scatter_update_last_duplicate_wins(backend):
    check(backend, "TensorScatterUpdate", [np.zeros(4, np.float32), i32([[0], [0], [2]]),
                                           np.float32([1, 2, 3])])


def test_tensor_scatter_update_rejects_out_of_range(backend):
    assert_rejects(backend, "TensorScatterUpdate", [np.zeros(4, np.float32), i32([[0], [7]]), np.float32([1, 2])],
                   match="does not index")


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "string"])
@pytest.mark.parametrize("indices,shape", [([[0, 1], [1, 0], [2, 3]], [3, 4]), ([0, 2, 5], [6]), (4, [5]),
                                           ([[1, 1, 1]], [2, 2, 2]), (np.zeros((0, 2)), [2, 3])], ids=str)
def test_sparse_to_dense(backend, rng, dtype, indices, shape):
    indices = np.asarray(indices, np.int64)
    count = 1 if indices.ndim == 0 else indices.shape[0]
    default = values(rng, (), dtype)
    check(backend, "SparseToDense", [indices, np.asarray(shape, np.int64), values(rng, (count,), dtype), default])
    check(backend, "SparseToDense", [indices.astype(np.int32), i32(shape), values(rng, (), dtype), default])


def test_sparse_to_dense_validation(backend):
    shape, vals, default = i32([4]), np.float32([1, 2]), np.float32(0)
    assert_rejects(backend, "SparseToDense", [i32([[1], [1]]), shape, vals, default], match="repeated")
    assert_rejects(backend, "SparseToDense", [i32([[3], [1]]), shape, vals, default], match="out of order")
    assert_rejects(backend, "SparseToDense", [i32([[3], [9]]), shape, vals, default], {"validate_indices": False},
                   match="does not index")
    check(backend, "SparseToDense", [i32([[3], [1]]), shape, vals, default], {"validate_indices": False})


# -- WebGL concerns: squarified textures, odd sizes, rank 5/6, many inputs, GPU-resident indices ------

BIG = 16384 + 1617  # longer than one texture row, so the texture holding it is squarified
GL_DTYPES = ["float32", "int32", "bool"]


@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_concat_pack_wide_and_many_inputs(backend, rng, dtype):
    check(backend, "ConcatV2", [values(rng, (2, BIG), dtype), values(rng, (2, 7), dtype), i32(1)])
    check(backend, "ConcatV2", [values(rng, (BIG,), dtype), values(rng, (3,), dtype), i32(0)])
    xs = [values(rng, (3, k % 4, 5), dtype) for k in range(11)]  # 11 inputs (one empty): a tree of programs
    check(backend, "ConcatV2", xs + [i32(1)], {"N": len(xs)})
    check(backend, "Pack", [values(rng, (5, 3), dtype) for _ in range(10)], {"N": 10, "axis": 1})


@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_concat_split_rank6(backend, rng, dtype):
    xs = [values(rng, (2, 1, 3, k, 2, 3), dtype) for k in (2, 1, 3)]
    check(backend, "ConcatV2", xs + [i32(3)], {"N": 3})
    x = values(rng, (2, 3, 1, 4, 3, 2), dtype)
    check(backend, "Split", [i32(-3), x], {"num_split": 2},
          reference=lambda a, v: tf().raw_ops.Split(axis=a, value=v, num_split=2))
    check(backend, "SplitV", [x, i32([1, -1, 0]), i32(4)], {"num_split": 3},
          reference=lambda v, s, a: tf().raw_ops.SplitV(value=v, size_splits=s, axis=a, num_split=3))
    check(backend, "Unpack", [x], {"num": 3, "axis": 1})


def test_slices_of_wide_and_rank6_tensors(backend, rng):
    wide = values(rng, (3, BIG))
    check(backend, "Slice", [wide, i32([1, 17]), i32([2, -1])])
    check(backend, "StridedSlice", [wide, i32([0, -5]), i32([3, 3]), i32([2, -3])])
    check(backend, "Split", [i32(1), values(rng, (2, 2 * BIG))], {"num_split": 2},
          reference=lambda a, v: tf().raw_ops.Split(axis=a, value=v, num_split=2))
    x = values(rng, (2, 3, 5, 4, 3, 7))
    check(backend, "StridedSlice", [x, i32([1, 0, 4, 1, 0]), i32([2, 3, 0, 4, 2]), i32([1, 2, -2, 2, 1])])
    check(backend, "StridedSlice", [x, i32([0, 2, 0, 1]), i32([0, 0, 0, 6]), i32([1, 1, 1, 3])],
          {"ellipsis_mask": 0b10, "new_axis_mask": 0b100, "shrink_axis_mask": 0b1})
    check(backend, "Slice", [x, i32([1, 1, 1, 1, 1, 1]), i32([1, 2, 3, 2, 2, 5])])


def test_rank7(backend, rng):
    """Slices merge unit and whole dimensions, so a rank-7 slice runs on the GPU; Tile does not merge."""
    x = values(rng, (2, 1, 3, 1, 2, 1, 3))
    check(backend, "Slice", [x, i32([1, 0, 0, 0, 0, 0, 1]), i32([1, 1, 3, 1, 2, 1, 2])])
    check(backend, "ReverseV2", [x, i32([0, 6])])
    check(backend, "Tile", [x, i32([1, 2, 1, 1, 1, 2, 1])], allow_fallback=True)


@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_tile_reverse_wide_and_rank5_6(backend, rng, dtype):
    check(backend, "Tile", [values(rng, (2, 5003), dtype), i32([1, 4])])
    check(backend, "Tile", [values(rng, (1, 3, 2, 1, 2), dtype), i32([2, 1, 3, 2, 1])])
    check(backend, "ReverseV2", [values(rng, (BIG,), dtype), i32([0])])
    check(backend, "ReverseV2", [values(rng, (2, 3, 1, 2, 3, 2), dtype), i32([0, 2, 4, -1])])


@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_gather_wide_and_rank6(backend, rng, dtype):
    check(backend, "GatherV2", [values(rng, (BIG,), dtype), i32([0, BIG - 1, 5, 5, 9000]), i32(0)])
    check(backend, "GatherV2", [values(rng, (2, BIG), dtype), i32([[3, BIG - 2], [0, 1]]), i32(1)])
    check(backend, "GatherV2", [values(rng, (BIG, 2), dtype), rng.integers(0, BIG, (3, 7)).astype(np.int32), i32(0)])
    params = values(rng, (2, 3, 2, 3, 2, 2), dtype)
    check(backend, "GatherV2", [params, rng.integers(0, 3, (2, 4)).astype(np.int32), i32(3)], {"batch_dims": 1})
    check(backend, "GatherNd", [values(rng, (BIG, 2), dtype), i32([[BIG - 1], [0], [77]])])
    check(backend, "GatherNd", [values(rng, (2, 3, 2, 3, 2), dtype), i32([[1, 2, 0], [0, 0, 1], [1, 1, 1]])])


def test_gather_gpu_indices_out_of_range_give_zero(webgl, rng):
    """Indices made on the GPU are not read back to be checked: out-of-range ones gather 0, as in TF.js."""
    import engine
    from tests.kernels.harness import to_tensor
    impl = engine.get_backend(webgl)
    indices = gpu_ints(impl, [0, 3, 4, -1, 2.7, 9])  # [0, 3, 4, -1, 2, 9], on the GPU only
    params = values(rng, (4, 5))
    got = impl.run("GatherV2", [to_tensor(params), indices, to_tensor(np.int32(0))])[0].numpy()
    want = np.stack([params[0], params[3], np.zeros(5), np.zeros(5), params[2], np.zeros(5)]).astype(np.float32)
    np.testing.assert_array_equal(got, want)
    pairs = impl.run("Reshape", [indices, to_tensor(i32([3, 2]))])[0]  # (0, 3), (4, -1), (2, 9)
    got = impl.run("GatherNd", [to_tensor(params), pairs])[0].numpy()
    np.testing.assert_array_equal(got, np.float32([params[0, 3], 0, 0]))
    assert impl.stats.cpu_fallbacks.get("GatherV2", 0) == impl.stats.cpu_fallbacks.get("GatherNd", 0) == 0


# -- scatter on the GPU: wide outputs, many repeated/unsorted updates, NaN, GPU-resident indices -------

@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_scatter_wide_and_many_updates(backend, rng, dtype):
    """Outputs, updates and indices longer than one texture row; repeated, unsorted indices (CPU-resident
    ones are sorted by the kernel, repeats still summed in update order or the last one winning)."""
    indices = rng.integers(0, BIG, (BIG, 1)).astype(np.int32)  # about a third of the slots repeat
    check(backend, "ScatterNd", [indices, values(rng, (BIG,), dtype), i32([BIG])])
    pairs = np.stack([rng.integers(0, 300, 5000), rng.integers(0, 2, 5000)], axis=1).astype(np.int32)
    check(backend, "ScatterNd", [pairs, values(rng, (5000, 7), dtype), i32([300, 2, 7])])
    check(backend, "ScatterNd", [i32([[1], [0], [1]]), values(rng, (3, BIG), dtype), i32([2, BIG])])
    check(backend, "TensorScatterUpdate", [values(rng, (BIG,), dtype), indices[:3000], values(rng, (3000,), dtype)])
    check(backend, "TensorScatterUpdate", [values(rng, (2, BIG), dtype), i32([[1], [0], [1]]),
                                           values(rng, (3, BIG), dtype)])
    check(backend, "TensorScatterUpdate", [values(rng, (40, 50, 3), dtype), pairs[:, :1] % 40,
                                           values(rng, (5000, 50, 3), dtype)])
    positions = np.sort(rng.choice(2 * BIG, 4000, replace=False))
    coords = np.stack(np.unravel_index(positions, (2, BIG)), axis=1).astype(np.int32)
    check(backend, "SparseToDense", [coords, i32([2, BIG]), values(rng, (4000,), dtype), values(rng, (), dtype)])
    check(backend, "SparseToDense", [positions.astype(np.int32)[::-1], i32([2 * BIG]), values(rng, (), dtype),
                                     values(rng, (), dtype)], {"validate_indices": False})


def test_scatter_nan_updates(backend):
    nan, inf = np.float32(np.nan), np.float32(np.inf)
    check(backend, "ScatterNd", [i32([[1], [3], [1], [3], [0], [4]]), np.float32([nan, inf, 2, -inf, 5, inf]),
                                 i32([5])])
    check(backend, "TensorScatterUpdate", [np.float32([1, nan, 2, nan]), i32([[0], [2], [0], [3]]),
                                           np.float32([nan, 7, nan, 4])])
    check(backend, "SparseToDense", [i32([1, 3]), i32([5]), np.float32([nan, 2]), np.float32(nan)])
    check(backend, "SparseToDense", [i32([0, 2]), i32([3]), np.float32(nan), np.float32(-inf)])


def test_scatter_int32_sums(backend, rng):
    indices = rng.integers(0, 10, (3000, 1)).astype(np.int32)
    check(backend, "ScatterNd", [indices, rng.integers(-3000, 3000, 3000).astype(np.int32), i32([10])])


def test_scatter_many_updates_on_one_slice_run_on_cpu(webgl):
    """A fragment walks the updates of its slice; past llvmpipe's loop limit ScatterNd runs on the CPU."""
    import engine
    stats = engine.get_backend("webgl").stats
    before = stats.cpu_fallbacks.get("ScatterNd", 0)
    count = 70000
    check(webgl, "ScatterNd", [np.zeros((count, 1), np.int32), np.ones(count, np.float32), i32([3])],
          allow_fallback=True)
    assert stats.cpu_fallbacks.get("ScatterNd", 0) == before + 1
    check(webgl, "TensorScatterUpdate", [np.zeros(3, np.float32), np.zeros((count, 1), np.int32),
                                         np.arange(count, dtype=np.float32)])  # last wins: no walk


def test_scatter_gpu_indices(webgl, rng):
    """Indices made on the GPU are not read back: every fragment loops over all updates, repeats sum
    (ScatterNd) or the last wins, and out-of-range tuples are ignored, as in TF.js."""
    import engine
    from tests.kernels.harness import assert_close, to_tensor
    impl = engine.get_backend("webgl")
    fallbacks = dict(impl.stats.cpu_fallbacks)

    def run(op, inputs, attrs=None):
        return impl.run(op, [x if hasattr(x, "has_values") else to_tensor(x) for x in inputs], attrs or {})[0].numpy()

    tuples = rng.integers(0, 6, (40, 2))
    updates = values(rng, (40, 3))
    assert_close(run("ScatterNd", [gpu_ints(impl, tuples), updates, i32([6, 6, 3])]),
                 run_tf("ScatterNd", [tuples.astype(np.int32), updates, i32([6, 6, 3])])[0])
    x = values(rng, (6, 6, 3))
    assert_close(run("TensorScatterUpdate", [x, gpu_ints(impl, tuples), updates]),
                 run_tf("TensorScatterUpdate", [x, tuples.astype(np.int32), updates])[0])
    # The longest loop a fragment may run on llvmpipe: 14999 updates of depth 3.
    deep = rng.integers(0, 4, (14999, 3))
    ints_updates = rng.integers(-5, 6, (14999, 5)).astype(np.int32)
    np.testing.assert_array_equal(run("ScatterNd", [gpu_ints(impl, deep), ints_updates, i32([4, 4, 4, 5])]),
                                  run_tf("ScatterNd", [deep.astype(np.int32), ints_updates, i32([4, 4, 4, 5])])[0])

    np.testing.assert_array_equal(
        run("ScatterNd", [gpu_ints(impl, [[0], [7], [-1], [2], [0]]), np.float32([1, 2, 3, 4, 5]), i32([4])]),
        np.float32([6, 0, 4, 0]))
    np.testing.assert_array_equal(
        run("TensorScatterUpdate", [np.float32([10, 11, 12, 13]), gpu_ints(impl, [[2], [9], [2], [0]]),
                                    np.float32([1, 2, 3, 4])]),
        np.float32([4, 11, 3, 13]))
    # Unsorted, repeated and out-of-range indices pass validate_indices unchecked.
    np.testing.assert_array_equal(
        run("SparseToDense", [gpu_ints(impl, [3, 1, 3, 8]), i32([5]), np.float32([1, 2, 3, 4]), np.float32(9)]),
        np.float32([9, 2, 9, 3, 9]))
    assert impl.stats.cpu_fallbacks == fallbacks


def test_scatter_gpu_indices_read_back_past_the_loop_limit(webgl, rng):
    """Too many GPU-resident updates to loop over: the kernel reads the indices back, checks them as
    TensorFlow does and takes the sorted path."""
    import engine
    from tests.kernels.harness import assert_close, to_tensor
    impl = engine.get_backend("webgl")
    fallbacks = dict(impl.stats.cpu_fallbacks)
    indices = rng.integers(0, 500, (40000, 1))
    updates = values(rng, (40000,))
    got = impl.run("ScatterNd", [gpu_ints(impl, indices), to_tensor(updates), to_tensor(i32([500]))])[0].numpy()
    assert_close(got, run_tf("ScatterNd", [indices.astype(np.int32), updates, i32([500])])[0])
    got = impl.run("SparseToDense", [gpu_ints(impl, np.arange(40000)), to_tensor(i32([40001])), to_tensor(updates),
                                     to_tensor(np.float32(0))])[0].numpy()
    np.testing.assert_array_equal(got, np.append(updates, np.float32(0)))
    assert impl.stats.cpu_fallbacks == fallbacks
    indices[123] = 500
    with pytest.raises(KernelError, match="does not index"):
        impl.run("ScatterNd", [gpu_ints(impl, indices), to_tensor(updates), to_tensor(i32([500]))])
    with pytest.raises(KernelError, match="out of order"):
        impl.run("SparseToDense", [gpu_ints(impl, np.arange(40000)[::-1]), to_tensor(i32([40001])),
                                   to_tensor(updates), to_tensor(np.float32(0))])


def test_scatter_rank7(backend, rng):
    """Scatter reads its inputs and writes its output flat, so tensors of any rank stay on the GPU."""
    x = values(rng, (2, 1, 3, 1, 2, 1, 3))
    check(backend, "TensorScatterUpdate", [x, i32([[1, 0, 2], [0, 0, 0]]), values(rng, (2, 1, 2, 1, 3))])
    indices = rng.integers(0, 2, (2, 1, 1, 1, 1, 1, 2, 2)).astype(np.int32)
    check(backend, "ScatterNd", [indices, values(rng, (2, 1, 1, 1, 1, 1, 2, 3)), i32([2, 2, 3])])
