"""The dry run's stand-ins for the dynamic-shape ops (registry.DRY_RUN): each gives what its CPU
kernel gives on inputs that keep the most, whatever its inputs' values."""
import numpy as np
import pytest

from engine.kernels import register_all  # noqa: F401  (registers every table)
from engine.kernels.cpu import dynamic
from engine.kernels.registry import DRY_RUN, get_kernel


def _kernels(op: str):
    return get_kernel(op, "cpu"), get_kernel(op, DRY_RUN)


def test_every_dynamic_op_has_a_stand_in_that_takes_what_its_kernel_takes():
    ops = {op for op, _ in dynamic.KERNELS.items()}
    assert ops == {op for op, _ in dynamic.LARGEST.items()}
    for op in ops:
        kernel, largest = _kernels(op)
        assert (largest.inputs, largest.attrs) == (kernel.inputs, kernel.attrs), op


def _apart(count: int) -> np.ndarray:
    """Boxes that overlap none of the others."""
    corners = np.arange(count, dtype=np.float32)[:, None] * 2
    return np.concatenate([corners, corners, corners + 1, corners + 1], axis=1)


@pytest.mark.parametrize("count,most", [(30, 8), (5, 8), (6, 0)])
@pytest.mark.parametrize("pad", [False, True])
def test_nms_stand_ins_select_as_many_boxes_as_nms_can(count, most, pad):
    """Against NMS on boxes apart from each other, scored in index order above the threshold."""
    boxes, scores = _apart(count), np.linspace(0.9, 0.8, count, dtype=np.float32)
    zeros = np.zeros_like(boxes), np.zeros_like(scores)  # what a dry run reads back: NMS keeps none of them
    args = {"NonMaxSuppressionV2": [np.int32(most), np.float32(0.5)],
            "NonMaxSuppressionV3": [np.int32(most), np.float32(0.5), np.float32(0.5)],
            "NonMaxSuppressionV4": [np.int32(most), np.float32(0.5), np.float32(0.5)],
            "NonMaxSuppressionV5": [np.int32(most), np.float32(0.5), np.float32(0.5), np.float32(0)]}
    for op, rest in args.items():
        kernel, largest = _kernels(op)
        attrs = {"pad_to_max_output_size": pad} if "pad_to_max_output_size" in kernel.attrs else {}
        want = kernel.fn(boxes, scores, *rest, **attrs)
        got = largest.fn(*zeros, *rest, **attrs)
        want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
        assert np.asarray(want[0]).size == (most if pad and len(want) > 1 else min(count, most)), op
        for a, b in zip(got, want):  # indices, [scores,] [valid count]
            assert (np.shape(a), np.asarray(a).dtype) == (np.shape(b), np.asarray(b).dtype), op
        np.testing.assert_array_equal(got[0], want[0])  # the indices (in score order here)
        assert len(want) == 1 or got[-1] == want[-1], op


def test_nms_stand_in_rejects_what_nms_rejects():
    for op in ("NonMaxSuppressionV3", "NonMaxSuppressionV5"):
        for kernel in _kernels(op):
            extra = [np.float32(0)] * (op == "NonMaxSuppressionV5")
            with pytest.raises(ValueError, match="boxes must be 2-D"):
                kernel.fn(np.zeros((4, 3), np.float32), np.zeros(4, np.float32), np.int32(2), np.float32(0.5),
                          np.float32(0), *extra)
            with pytest.raises(ValueError, match="non-negative"):
                kernel.fn(np.zeros((4, 4), np.float32), np.zeros(4, np.float32), np.int32(-1), np.float32(0.5),
                          np.float32(0), *extra)


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 0, 3)], ids=str)
def test_where_stand_in_finds_every_element(shape):
    kernel, largest = _kernels("Where")
    got = largest.fn(np.zeros(shape, bool))
    np.testing.assert_array_equal(got, kernel.fn(np.ones(shape, bool)))
    assert got.dtype == np.int64 and got.shape == (int(np.prod(shape)), len(shape))
    with pytest.raises(ValueError, match="dimensions: 0"):
        largest.fn(np.bool_(True))


@pytest.mark.parametrize("out_idx", ["int32", "int64"])
def test_list_diff_stand_in_removes_nothing(out_idx):
    kernel, largest = _kernels("ListDiff")
    x = np.arange(6, dtype=np.float32) * 3
    want = kernel.fn(x, np.float32([100, 200]), out_idx=out_idx)
    got = largest.fn(x, x.copy(), out_idx=out_idx)  # ListDiff itself would remove every value
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    with pytest.raises(ValueError, match="1-D"):
        largest.fn(x[None], x)
