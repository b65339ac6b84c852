"""Dynamic-shape ops against tf.raw_ops: NMS selection order and thresholds, Where, ListDiff."""
import numpy as np
import pytest

from tests.kernels.harness import check, rand, run_engine

pytestmark = pytest.mark.tf


def _clustered_boxes(rng, count):
    """Boxes in a few clusters, so many overlap; some given as (y2, x2, y1, x1) corners."""
    centres = rng.uniform(0, 10, (4, 2))[rng.integers(0, 4, count)] + rng.normal(0, 0.6, (count, 2))
    sizes = rng.uniform(0.5, 3, (count, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    flipped = rng.random(count) < 0.3
    boxes[flipped] = boxes[flipped][:, [2, 3, 0, 1]]
    return boxes.astype(np.float32)


def _scores(rng, count, ties=False):
    scores = rng.random(count)
    return (np.round(scores, 1) if ties else scores).astype(np.float32)


NMS_CASES = [(40, 10, 0.5, 0.0, False), (40, 100, 0.3, 0.2, True), (25, 3, 0.7, 0.5, False),
             (60, 60, 0.0, 0.0, True), (30, 0, 0.5, 0.0, False), (30, 30, 1.0, 0.6, True)]


@pytest.mark.parametrize("count,max_out,iou,score_threshold,ties", NMS_CASES)
def test_nms_versions(backend, rng, count, max_out, iou, score_threshold, ties):
    boxes, scores = _clustered_boxes(rng, count), _scores(rng, count, ties)
    args = [boxes, scores, np.int32(max_out), np.float32(iou)]
    check(backend, "NonMaxSuppressionV2", args)
    check(backend, "NonMaxSuppressionV3", args + [np.float32(score_threshold)])
    for pad in (False, True):
        check(backend, "NonMaxSuppressionV4", args + [np.float32(score_threshold)], {"pad_to_max_output_size": pad})
        check(backend, "NonMaxSuppressionV5", args + [np.float32(score_threshold), np.float32(0.0)],
              {"pad_to_max_output_size": pad})


@pytest.mark.parametrize("max_out,iou", [(100, 0.6), (700, 0.3), (5000, 0.9)])
def test_nms_many_boxes(backend, rng, max_out, iou):
    """Thousands of candidates with tied scores: the CPU kernel sorts them lazily, in chunks of the best,
    and settles them in blocks, each against the boxes already selected and then among itself."""
    boxes, scores = _clustered_boxes(rng, 3000), _scores(rng, 3000, ties=True)
    scores[rng.random(3000) < 0.2] = 0.0
    args = [boxes, scores, np.int32(max_out), np.float32(iou), np.float32(0.05), np.float32(0.0)]
    check(backend, "NonMaxSuppressionV5", args, {"pad_to_max_output_size": True})


@pytest.mark.parametrize("sigma", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("score_threshold", [0.0, 0.3])
def test_soft_nms(backend, rng, sigma, score_threshold):
    """Soft NMS decays overlapping scores and requeues them; the decayed scores are output."""
    boxes, scores = _clustered_boxes(rng, 40), _scores(rng, 40)
    for max_out, pad in ((40, False), (12, True)):
        check(backend, "NonMaxSuppressionV5",
              [boxes, scores, np.int32(max_out), np.float32(0.5), np.float32(score_threshold), np.float32(sigma)],
              {"pad_to_max_output_size": pad}, rtol=1e-5)


def test_nms_nan_and_infinite_scores(backend, rng):
    """NaN scores never pass the threshold; V2 (no threshold) still skips -inf."""
    boxes = _clustered_boxes(rng, 12)
    scores = _scores(rng, 12)
    scores[[1, 4, 7]] = [np.nan, -np.inf, np.inf]
    check(backend, "NonMaxSuppressionV2", [boxes, scores, np.int32(12), np.float32(0.4)])
    check(backend, "NonMaxSuppressionV3", [boxes, scores, np.int32(12), np.float32(0.4), np.float32(-np.inf)])
    check(backend, "NonMaxSuppressionV3", [boxes, scores, np.int32(12), np.float32(0.4), np.float32(np.nan)])


def test_nms_degenerate_boxes_and_empty(backend):
    boxes = np.array([[0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2]], np.float32)
    scores = np.array([0.9, 0.8, 0.8, 0.7], np.float32)
    check(backend, "NonMaxSuppressionV3", [boxes, scores, np.int32(4), np.float32(0.0), np.float32(0.0)])
    check(backend, "NonMaxSuppressionV4", [np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.int32(3),
                                           np.float32(0.5), np.float32(0.0)], {"pad_to_max_output_size": True})


@pytest.mark.parametrize("op,extra,message", [
    ("NonMaxSuppressionV3", [np.float32(1.5), np.float32(0)], "iou_threshold"),
    ("NonMaxSuppressionV5", [np.float32(0.5), np.float32(0), np.float32(-1)], "soft_nms_sigma"),
])
def test_nms_rejects_bad_arguments(backend, op, extra, message):
    boxes, scores = np.zeros((2, 4), np.float32), np.ones(2, np.float32)
    with pytest.raises(Exception, match=message):
        run_engine(backend, op, [boxes, scores, np.int32(2)] + extra)
    with pytest.raises(Exception, match="non-negative"):
        run_engine(backend, "NonMaxSuppressionV2", [boxes, scores, np.int32(-1), np.float32(0.5)])


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0, 3), (5, 0)], ids=str)
@pytest.mark.parametrize("dtype", ["bool", "float32", "int32", "complex64"])
def test_where(backend, rng, shape, dtype):
    x = rand(rng, shape, dtype, -1, 1)
    if dtype == "float32":
        x = np.where(rng.random(shape) < 0.5, 0, x).astype(np.float32)
        if x.size >= 2:
            x.reshape(-1)[:2] = [np.nan, -0.0]
    check(backend, "Where", [x])


@pytest.mark.parametrize("out_idx", ["int32", "int64"])
def test_list_diff(backend, rng, out_idx):
    x = rand(rng, (20,), "int32", 0, 9)
    check(backend, "ListDiff", [x, np.array([3, 5, 11, 5], np.int32)], {"out_idx": out_idx})
    check(backend, "ListDiff", [x, np.zeros(0, np.int32)], {"out_idx": out_idx})
    check(backend, "ListDiff", [np.zeros(0, np.int32), x], {"out_idx": out_idx})


def test_list_diff_floats_and_strings(backend):
    check(backend, "ListDiff", [np.array([np.nan, 0.0, 1.0, -0.0, 2.5], np.float32),
                                np.array([np.nan, -0.0, 2.5], np.float32)])
    check(backend, "ListDiff", [np.array([b"a", b"b", b"", b"a"], dtype=object), np.array([b"a"], dtype=object)])
