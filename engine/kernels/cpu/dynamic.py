"""Dynamic-shape ops (op_list/dynamic.json): non-max suppression, Where and ListDiff, as TensorFlow.

Their output shapes depend on the input values, not only on the input shapes. A compile-only run
(warm-up's dry run) reads zeros where values live on the GPU, and zeros keep nothing here: no score
above a threshold, no true element. So each op also has a stand-in in LARGEST (registry.DRY_RUN),
which gives the most the op can keep, for the programs after it to compile as for a call that finds
something (handtrack's 7 x 100 detections: 9 programs that warm-up left to the first call).

Hard NMS (soft_nms_sigma 0, the usual detector's) runs compiled where tfgl[fast-cpu] is installed
and a convolution has imported numba (engine.kernels.cpu.compiled.hard_nms): one greedy loop over
the candidates, against the numpy path's block IOU matrices here; both compute each IOU with
TensorFlow's float32 expression (_Boxes.iou), so they select the same boxes, to the bit. Soft NMS
stays in numpy.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterator

import numpy as np

from engine.kernels.cpu import compiled
from engine.kernels.registry import KernelTable

KERNELS = KernelTable()

F32 = np.float32


class _Boxes:
    """Corner-normalised boxes and their areas, for TensorFlow's IOU (float32 throughout)."""

    def __init__(self, boxes: np.ndarray):
        boxes = np.asarray(boxes, F32)
        self.y_min = np.minimum(boxes[:, 0], boxes[:, 2])
        self.x_min = np.minimum(boxes[:, 1], boxes[:, 3])
        self.y_max = np.maximum(boxes[:, 0], boxes[:, 2])
        self.x_max = np.maximum(boxes[:, 1], boxes[:, 3])
        self.area = (self.y_max - self.y_min) * (self.x_max - self.x_min)

    def iou(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """IOU [len(rows), len(columns)] of boxes `rows` (the candidates) with boxes `columns`; 0
        where either box has no area. Every element is TensorFlow's float32 expression, so any
        pairing of the same two boxes gives the same bits."""
        def pair(corner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return corner[rows][:, None], corner[columns][None, :]

        (top, other_top), (bottom, other_bottom) = pair(self.y_min), pair(self.y_max)
        (left, other_left), (right, other_right) = pair(self.x_min), pair(self.x_max)
        height = np.minimum(bottom, other_bottom)
        height -= np.maximum(top, other_top)
        np.maximum(height, F32(0), out=height)
        width = np.minimum(right, other_right)
        width -= np.maximum(left, other_left)
        np.maximum(width, F32(0), out=width)
        intersection = np.multiply(height, width, out=height)
        area, other_area = pair(self.area)
        union = area + other_area
        union -= intersection
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.divide(intersection, union, out=union)
        iou[(area <= 0) | (other_area <= 0)] = 0
        return iou


def _by_score(scores: np.ndarray, candidates: np.ndarray, first: int) -> Iterator[np.ndarray]:
    """`candidates` (ascending indices) in descending score order, ties by lower index, sorted
    lazily: chunks of the best `first` (with every tie of the last), then four times as many, ...
    NMS usually stops long before the end of thousands of candidates."""
    remaining, size = candidates, max(1, first)
    while remaining.size:
        values = scores[remaining]
        if remaining.size > 2 * size:
            cut = np.partition(values, remaining.size - size)[remaining.size - size]
            best = values >= cut
            chunk, values, remaining = remaining[best], values[best], remaining[~best]
        else:
            chunk, remaining = remaining, remaining[:0]
        yield chunk[np.argsort(-values, kind="stable")]
        size *= 4


def _hard_nms(geometry: _Boxes, ordered: Iterator[np.ndarray], limit: int, iou_threshold: np.float32) -> np.ndarray:
    """TensorFlow's greedy hard NMS in numpy, a block of candidates at a time: one IOU matrix drops
    those that overlap the boxes already selected, another settles the block among itself, in score
    order."""
    selected = np.empty(limit, np.int64)
    count = 0
    for chunk in ordered:
        start = 0
        while start < chunk.size and count < limit:
            block = chunk[start:start + min(256, max(32, 2 * (limit - count)))]
            start += block.size
            if count:
                block = block[~(geometry.iou(block, selected[:count]) > iou_threshold).any(axis=1)]
            overlaps = geometry.iou(block, block) > iou_threshold
            suppressed = np.zeros(block.size, bool)
            for position, index in enumerate(block.tolist()):
                if suppressed[position]:
                    continue
                selected[count] = index
                count += 1
                if count == limit:
                    break
                suppressed |= overlaps[position]
        if count == limit:
            break
    return selected[:count]


def _scalar(x):
    return np.asarray(x).reshape(-1)[0]


def _checked_boxes(boxes, scores, max_output_size) -> tuple[np.ndarray, np.ndarray, int]:
    boxes = np.asarray(boxes, F32)
    scores = np.asarray(scores, F32).reshape(-1)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be 2-D [num_boxes, 4], got shape {list(boxes.shape)}")
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"scores has {scores.shape[0]} values for {boxes.shape[0]} boxes")
    max_output_size = int(_scalar(max_output_size))
    if max_output_size < 0:
        raise ValueError("output size must be non-negative")
    return boxes, scores, max_output_size


def _non_max_suppression(boxes, scores, max_output_size, iou_threshold, score_threshold,
                         soft_nms_sigma=0.0) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow's greedy NMS: candidates by descending score (ties: lower index first); hard NMS
    drops a candidate whose IOU with a selected box exceeds iou_threshold; soft NMS (sigma > 0)
    decays its score by exp(-0.5 IOU^2 / sigma) per selected box and requeues it while it stays
    above score_threshold. Returns the selected indices and their (possibly decayed) scores."""
    boxes, scores, max_output_size = _checked_boxes(boxes, scores, max_output_size)
    iou_threshold = F32(_scalar(iou_threshold))
    if not 0 <= iou_threshold <= 1:
        raise ValueError("iou_threshold must be in [0, 1]")
    score_threshold = F32(_scalar(score_threshold))
    soft_nms_sigma = F32(_scalar(soft_nms_sigma))
    if not soft_nms_sigma >= 0:
        raise ValueError("soft_nms_sigma_val must be >= 0")

    if soft_nms_sigma == 0 and compiled.handles_once_loaded(F32):
        selected = compiled.hard_nms(boxes, scores, max_output_size, iou_threshold, score_threshold)
        return selected, scores[selected]
    candidates = np.flatnonzero(scores > score_threshold)  # NaN scores never qualify
    geometry = _Boxes(boxes)
    limit = min(max_output_size, candidates.size)
    if soft_nms_sigma == 0:
        selected = _hard_nms(geometry, _by_score(scores, candidates, 4 * limit), limit, iou_threshold)
        return selected, scores[selected]

    candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
    selected = np.empty(limit, np.int64)
    selected_scores = np.empty(limit, F32)
    count = 0
    scale = F32(-0.5) / soft_nms_sigma
    # Heap entries: (-score, box index, number of selected boxes already applied to the score).
    queue = [(-scores[i], int(i), 0) for i in candidates]
    heapq.heapify(queue)
    while count < selected.size and queue:
        negative_score, index, applied = heapq.heappop(queue)
        original = -negative_score
        # Decay by the boxes selected since this score was last computed, newest first,
        # stopping once the score falls to the threshold (it can only fall further).
        similarity = geometry.iou(np.array([index]), selected[applied:count][::-1])[0]
        decayed = np.multiply.accumulate(
            np.concatenate([[original], np.exp(scale * similarity * similarity)]).astype(F32))
        below = np.flatnonzero(decayed[1:] <= score_threshold)
        score = decayed[below[0] + 1] if below.size else decayed[-1]
        if score == original:
            selected[count], selected_scores[count] = index, score
            count += 1
        elif score > score_threshold:
            heapq.heappush(queue, (-score, index, count))
    return selected[:count], selected_scores[:count]


def _padded(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, values.dtype)
    out[:values.size] = values
    return out


@KERNELS.define("NonMaxSuppressionV2")
def non_max_suppression_v2(boxes, scores, max_output_size, iou_threshold):
    """No score threshold: every score above the lowest float (so not -inf, not NaN) qualifies."""
    lowest = np.finfo(F32).min
    return _non_max_suppression(boxes, scores, max_output_size, iou_threshold, lowest)[0].astype(np.int32)


@KERNELS.define("NonMaxSuppressionV3")
def non_max_suppression_v3(boxes, scores, max_output_size, iou_threshold, score_threshold):
    return _non_max_suppression(boxes, scores, max_output_size, iou_threshold, score_threshold)[0].astype(np.int32)


@KERNELS.define("NonMaxSuppressionV4")
def non_max_suppression_v4(boxes, scores, max_output_size, iou_threshold, score_threshold, *,
                           pad_to_max_output_size: bool = False):
    """Outputs the indices (zero-padded to max_output_size if asked) and how many are valid."""
    selected, _ = _non_max_suppression(boxes, scores, max_output_size, iou_threshold, score_threshold)
    return _v4_outputs(selected, max_output_size, pad_to_max_output_size)


@KERNELS.define("NonMaxSuppressionV5")
def non_max_suppression_v5(boxes, scores, max_output_size, iou_threshold, score_threshold, soft_nms_sigma, *,
                           pad_to_max_output_size: bool = False):
    """Soft NMS when soft_nms_sigma > 0; also outputs the selected (decayed) scores."""
    selected, selected_scores = _non_max_suppression(boxes, scores, max_output_size, iou_threshold,
                                                     score_threshold, soft_nms_sigma)
    return _v5_outputs(selected, selected_scores, max_output_size, pad_to_max_output_size)


def _v4_outputs(selected: np.ndarray, max_output_size, pad: bool) -> tuple[np.ndarray, np.int32]:
    valid = np.int32(selected.size)
    if pad:
        selected = _padded(selected, int(_scalar(max_output_size)))
    return selected.astype(np.int32), valid


def _v5_outputs(selected: np.ndarray, selected_scores: np.ndarray, max_output_size,
                pad: bool) -> tuple[np.ndarray, np.ndarray, np.int32]:
    valid = np.int32(selected.size)
    if pad:
        size = int(_scalar(max_output_size))
        selected, selected_scores = _padded(selected, size), _padded(selected_scores, size)
    return selected.astype(np.int32), selected_scores, valid


@KERNELS.define("Where")
def where(condition):
    """Coordinates [n, rank] of the true (non-zero, non-empty string) elements in row-major order."""
    if condition.ndim == 0:
        raise ValueError("WhereOp : Unhandled input dimensions: 0")
    return np.argwhere(condition).astype(np.int64)


@KERNELS.define("ListDiff")
def list_diff(x, y, *, out_idx: str = "int32"):
    """The values of x not in y, in x's order, and their positions in x (NaN is never found)."""
    _check_vectors(x, y)
    positions = np.flatnonzero(~np.isin(x, y))
    return x[positions], positions.astype(out_idx)


def _check_vectors(x, y) -> None:
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("x and y must be 1-D")


# -- stand-ins for a dry run: the most each op can keep ----------------------------------------------
LARGEST = KernelTable()


def _most_selected(boxes, scores, max_output_size) -> tuple[np.ndarray, np.ndarray]:
    """Every box up to max_output_size, as if none scored too low or overlapped another."""
    boxes, _, limit = _checked_boxes(boxes, scores, max_output_size)
    count = min(limit, boxes.shape[0])
    return np.arange(count), np.zeros(count, F32)


@LARGEST.define("NonMaxSuppressionV2")
def most_selected_v2(boxes, scores, max_output_size, iou_threshold):
    return _most_selected(boxes, scores, max_output_size)[0].astype(np.int32)


@LARGEST.define("NonMaxSuppressionV3")
def most_selected_v3(boxes, scores, max_output_size, iou_threshold, score_threshold):
    return _most_selected(boxes, scores, max_output_size)[0].astype(np.int32)


@LARGEST.define("NonMaxSuppressionV4")
def most_selected_v4(boxes, scores, max_output_size, iou_threshold, score_threshold, *,
                     pad_to_max_output_size: bool = False):
    selected, _ = _most_selected(boxes, scores, max_output_size)
    return _v4_outputs(selected, max_output_size, pad_to_max_output_size)


@LARGEST.define("NonMaxSuppressionV5")
def most_selected_v5(boxes, scores, max_output_size, iou_threshold, score_threshold, soft_nms_sigma, *,
                     pad_to_max_output_size: bool = False):
    selected, selected_scores = _most_selected(boxes, scores, max_output_size)
    return _v5_outputs(selected, selected_scores, max_output_size, pad_to_max_output_size)


@LARGEST.define("Where")
def every_coordinate(condition):
    return where(np.ones(np.shape(condition), bool))


@LARGEST.define("ListDiff")
def nothing_removed(x, y, *, out_idx: str = "int32"):
    _check_vectors(x, y)
    return x, np.arange(x.size).astype(out_idx)
