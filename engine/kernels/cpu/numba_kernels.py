"""The compiled kernels behind engine.kernels.cpu.compiled: numba functions over rows of output.

Each works on output rows [row_start, row_stop) so that engine.kernels.cpu.parallel can hand chunks
of one call to its threads (nogil: they run at the same time), and ends each row with the fused
epilogue while the row is in cache: y = (y - sub) * mul + add per channel, then an activation. That
is the numpy path's arithmetic, op for op, so bias and batch norm epilogues give the same bits; only
the order in which a depthwise window's taps are summed differs. Comparisons are written so that NaN
passes through every activation, as numpy's does.

Importing this module imports numba; engine.kernels.cpu.compiled decides whether that happens.
"""
from __future__ import annotations

import numba
import numpy as np

_JIT = {"nogil": True, "cache": True, "error_model": "numpy", "boundscheck": False}


@numba.njit(inline="always")
def _finish(values, sub, mul, add, scales_negatives, low, high, slope):
    """The epilogue in place on the contiguous channels-last values of whole pixels: the affine step,
    then values clamped to [low, high] (Relu, Relu6; -inf and inf for none) or, where
    scales_negatives, negatives times the slope (LeakyRelu, PReLU). The per-channel args come
    repeated over a span of pixels (engine.kernels.cpu.compiled.Epilogue), and the loops run over
    such spans: over one pixel's channels they would be too short to vectorize well. Every
    constant has the values' dtype: a Python 0 would make numba compute in float64."""
    span = sub.shape[0]
    for base in range(0, values.shape[0], span):
        part = values[base:base + span]
        if scales_negatives:
            for j in range(part.shape[0]):
                value = (part[j] - sub[j]) * mul[j] + add[j]
                part[j] = value * slope[j] if value < low else value
        else:
            for j in range(part.shape[0]):
                value = (part[j] - sub[j]) * mul[j] + add[j]
                if value < low:
                    value = low
                elif value > high:
                    value = high
                part[j] = value


@numba.njit(inline="always")
def _window_sum(x, n, weights, pixel, oh, ow, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left):
    """pixel = the sum over the window taps of output (oh, ow) that fall inside x."""
    height, width = x.shape[1], x.shape[2]
    pixel[:] = 0
    for kh in range(weights.shape[0]):
        ih = oh * stride_h + kh * dilation_h - pad_top
        if ih < 0 or ih >= height:
            continue
        for kw in range(weights.shape[1]):
            iw = ow * stride_w + kw * dilation_w - pad_left
            if iw < 0 or iw >= width:
                continue
            source, tap = x[n, ih, iw], weights[kh, kw]
            for c in range(pixel.shape[0]):
                pixel[c] += source[c] * tap[c]


@numba.njit(inline="always")
def depthwise_row(x, n, weights, taps, row, oh, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                  inside_start, inside_stop):
    """row (OW, C) = output row oh of image n of the depthwise convolution of x (N, H, W, C) by weights
    (KH, KW, C), TensorFlow's, with one output channel per input channel; `taps`: depthwise_taps(weights);
    [inside_start, inside_stop): the output columns whose window lies inside the input's columns
    (depthwise_columns). Taps that fall in the padding are skipped, never multiplied (TensorFlow's
    result stays finite for infinite weights).

    3x3 windows that lie wholly inside the input sum their nine taps in one expression, so a
    channel's sum stays in a register (twice as fast as summing tap after tap into the output)."""
    height, channels = x.shape[1], x.shape[3]
    window_h, window_w = weights.shape[0], weights.shape[1]
    out_w = row.shape[0]
    top = oh * stride_h - pad_top
    unrolled = window_h == 3 and window_w == 3 and top >= 0 and top + 2 * dilation_h < height
    first, stop = (inside_start, inside_stop) if unrolled else (out_w, out_w)
    for ow in range(first):
        _window_sum(x, n, weights, row[ow], oh, ow, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left)
    if unrolled:
        w0, w1, w2, w3, w4, w5, w6, w7, w8 = taps
        r0, r1, r2 = x[n, top], x[n, top + dilation_h], x[n, top + 2 * dilation_h]
        for ow in range(first, stop):
            i0 = ow * stride_w - pad_left
            i1, i2 = i0 + dilation_w, i0 + 2 * dilation_w
            a0, a1, a2, b0, b1, b2 = r0[i0], r0[i1], r0[i2], r1[i0], r1[i1], r1[i2]
            c0, c1, c2 = r2[i0], r2[i1], r2[i2]
            pixel = row[ow]
            for c in range(channels):
                pixel[c] = (a0[c] * w0[c] + a1[c] * w1[c] + a2[c] * w2[c] + b0[c] * w3[c] + b1[c] * w4[c]
                            + b2[c] * w5[c] + c0[c] * w6[c] + c1[c] * w7[c] + c2[c] * w8[c])
    for ow in range(stop, out_w):
        _window_sum(x, n, weights, row[ow], oh, ow, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left)


@numba.njit(inline="always")
def depthwise_taps(weights):
    """A 3x3 window's nine taps (C,) in row-major order (clamped indexes for other windows, which
    depthwise_row does not unroll), made once per call rather than once per row."""
    h1, h2 = min(1, weights.shape[0] - 1), min(2, weights.shape[0] - 1)
    w1, w2 = min(1, weights.shape[1] - 1), min(2, weights.shape[1] - 1)
    return (weights[0, 0], weights[0, w1], weights[0, w2], weights[h1, 0], weights[h1, w1], weights[h1, w2],
            weights[h2, 0], weights[h2, w1], weights[h2, w2])


@numba.njit(inline="always")
def depthwise_columns(width, window_w, out_w, stride_w, dilation_w, pad_left):
    """The output columns whose window lies inside the input's columns: (inside_start, inside_stop)."""
    inside_start = min(out_w, (pad_left + stride_w - 1) // stride_w)
    last = width - 1 - (window_w - 1) * dilation_w + pad_left
    return inside_start, max(inside_start, min(out_w, last // stride_w + 1 if last >= 0 else 0))


@numba.njit(**_JIT)
def depthwise_rows(x, weights, out, row_start, row_stop, stride_h, stride_w, dilation_h, dilation_w,
                   pad_top, pad_left, sub, mul, add, scales_negatives, low, high, slope):
    """out[:, row_start:row_stop] of the depthwise convolution of x by weights (depthwise_row), then
    the epilogue."""
    inside_start, inside_stop = depthwise_columns(x.shape[2], weights.shape[1], out.shape[2], stride_w, dilation_w,
                                                  pad_left)
    taps = depthwise_taps(weights)
    for n in range(x.shape[0]):
        for oh in range(row_start, row_stop):
            row = out[n, oh]
            depthwise_row(x, n, weights, taps, row, oh, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                          inside_start, inside_stop)
            _finish(row.reshape(-1), sub, mul, add, scales_negatives, low, high, slope)


@numba.njit(**_JIT)
def epilogue_rows(y, row_start, row_stop, sub, mul, add, scales_negatives, low, high, slope):
    """The epilogue in place on y[:, row_start:row_stop] of a (N, rows, pixels * C) result."""
    for n in range(y.shape[0]):
        for row in range(row_start, row_stop):
            _finish(y[n, row], sub, mul, add, scales_negatives, low, high, slope)


@numba.njit(**_JIT)
def resize_bilinear_rows(pixels, y_low, y_high, y_lerp, x_low, x_high, x_lerp, out, row_start, row_stop):
    """out[:, row_start:row_stop] of the bilinear resize of pixels (N, H, W, C), from the source
    indexes and lerp weights per output row and column: TensorFlow's float32 expressions (a lerp
    along the width in the two rows read, then between them), so the same bits as numpy's path."""
    for n in range(pixels.shape[0]):
        for oy in range(row_start, row_stop):
            top_row, bottom_row, row_lerp = pixels[n, y_low[oy]], pixels[n, y_high[oy]], y_lerp[oy]
            row = out[n, oy]
            for ox in range(row.shape[0]):
                left, right, column_lerp = x_low[ox], x_high[ox], x_lerp[ox]
                top_left, top_right = top_row[left], top_row[right]
                bottom_left, bottom_right = bottom_row[left], bottom_row[right]
                pixel = row[ox]
                for c in range(pixel.shape[0]):
                    top = top_left[c] + (top_right[c] - top_left[c]) * column_lerp
                    bottom = bottom_left[c] + (bottom_right[c] - bottom_left[c]) * column_lerp
                    pixel[c] = top + (bottom - top) * row_lerp



# engine.kernels.cpu.elementwise_chain's op codes: the step's operation on its operands a and b
CHAIN_ADD, CHAIN_SUB, CHAIN_MUL, CHAIN_MAXIMUM, CHAIN_MINIMUM, CHAIN_RELU, CHAIN_RELU6, CHAIN_NEG = range(8)


@numba.njit(inline="always")
def _chain_operand(ref, base, count, full0, full1, full2, full3, constants, results):
    """The `count` values from `base` of operand `ref`: 0-3 a whole tensor, then a row of
    `constants` (repeated over a span), then an earlier step's result."""
    if ref == 0:
        return full0[base:base + count]
    if ref == 1:
        return full1[base:base + count]
    if ref == 2:
        return full2[base:base + count]
    if ref == 3:
        return full3[base:base + count]
    if ref < 4 + constants.shape[0]:
        return constants[ref - 4, :count]
    return results[ref - 4 - constants.shape[0], :count]


@numba.njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)
def _chain_step(code, target, a, b, zero, six):
    """target = one step's op on a (and b), each loop a vectorizable pass of its own."""
    if code == CHAIN_ADD:
        for j in range(target.shape[0]):
            target[j] = a[j] + b[j]
    elif code == CHAIN_SUB:
        for j in range(target.shape[0]):
            target[j] = a[j] - b[j]
    elif code == CHAIN_MUL:
        for j in range(target.shape[0]):
            target[j] = a[j] * b[j]
    elif code == CHAIN_MAXIMUM:
        for j in range(target.shape[0]):
            target[j] = a[j] if a[j] >= b[j] or a[j] != a[j] else b[j]
    elif code == CHAIN_MINIMUM:
        for j in range(target.shape[0]):
            target[j] = a[j] if a[j] <= b[j] or a[j] != a[j] else b[j]
    elif code == CHAIN_RELU:
        for j in range(target.shape[0]):
            target[j] = zero if a[j] < zero else a[j]
    elif code == CHAIN_RELU6:
        for j in range(target.shape[0]):
            value = a[j]
            target[j] = zero if value < zero else six if value > six else value
    else:
        for j in range(target.shape[0]):
            target[j] = -a[j]


@numba.njit(**_JIT)
def chain_spans(codes, full0, full1, full2, full3, constants, out, zero, six, span_start, span_stop):
    """out's spans [span_start, span_stop) of a chain of elementwise steps, each evaluated over one
    span (constants.shape[1] values, in cache) before the next step reads it. codes: (steps, 3) of
    op code, operand a, operand b (see _chain_operand); the last step writes out. NaN passes through
    every step as in numpy (the comparisons are written so). zero and six have out's dtype."""
    span = constants.shape[1]
    steps = codes.shape[0]
    results = np.empty((steps, span), out.dtype)
    for first in range(span_start * span, min(span_stop * span, out.shape[0]), span):
        count = min(span, out.shape[0] - first)
        for step in range(steps):
            code = codes[step, 0]
            a = _chain_operand(codes[step, 1], first, count, full0, full1, full2, full3, constants, results)
            b = _chain_operand(max(codes[step, 2], 0), first, count, full0, full1, full2, full3, constants, results)
            target = out[first:first + count] if step == steps - 1 else results[step, :count]
            _chain_step(code, target, a, b, zero, six)



@numba.njit(inline="always")
def _remaining(score, score_threshold, upper, bounded):
    """Whether an NMS candidate (a score above the threshold, so never NaN) is not in a chunk yet:
    below `upper`, the last chunk's lowest score, once there is one."""
    return score > score_threshold and (not bounded or score < upper)


@numba.njit(inline="always")
def _cut(scores, score_threshold, upper, bounded, size):
    """A score such that about `size` remaining candidates score at least that much, from a sample
    of every so many scores; -inf to take all of them. Any value gives the same selection."""
    stride = max(1, scores.shape[0] // 512)
    sample = np.empty(-(-scores.shape[0] // stride), scores.dtype)
    sampled = 0
    for index in range(0, scores.shape[0], stride):
        if _remaining(scores[index], score_threshold, upper, bounded):
            sample[sampled] = scores[index]
            sampled += 1
    rank = -(-size // stride)
    if rank >= sampled:
        return np.float32(-np.inf)
    return np.sort(sample[:sampled])[sampled - 1 - rank]


@numba.njit(inline="always")
def _nan_min(a, b):
    return a if a <= b or a != a else b  # NaN if either is, as numpy's minimum


@numba.njit(inline="always")
def _nan_max(a, b):
    return a if a >= b or a != a else b


@numba.njit(**_JIT)
def hard_nms(boxes, scores, max_output_size, iou_threshold, score_threshold):
    """TensorFlow's greedy hard NMS of float32 boxes (N, 4) by scores (N,): candidates (scores above
    score_threshold) by descending score, ties by lower index, each selected unless its IOU with a
    box already selected exceeds iou_threshold. The IOU is engine.kernels.cpu.dynamic._Boxes.iou's
    float32 expression, op for op, so the same bits and the same selection. Candidates are sorted a
    chunk at a time, all those scoring at least a cut (ties stay together), the first of about
    four times max_output_size: NMS usually stops long before the last candidate."""
    zero = np.float32(0)
    limit = min(max_output_size, scores.shape[0])
    selected = np.empty(limit, np.int64)
    corners = np.empty((4, limit), np.float32)  # y_min, x_min, y_max, x_max of each selected box
    areas = np.empty(limit, np.float32)
    chunk = np.empty(scores.shape[0], np.int64)
    count, upper, bounded, size = 0, np.float32(np.inf), False, 4 * limit
    while count < limit:
        cut = _cut(scores, score_threshold, upper, bounded, size)
        taken = 0
        for index in range(scores.shape[0]):
            chunk[taken] = index
            taken += _remaining(scores[index], score_threshold, upper, bounded) and scores[index] >= cut
        ordered = chunk[:taken][np.argsort(-scores[chunk[:taken]], kind="mergesort")]  # stable: ties by index
        for index in ordered:
            y_min, y_max = _nan_min(boxes[index, 0], boxes[index, 2]), _nan_max(boxes[index, 0], boxes[index, 2])
            x_min, x_max = _nan_min(boxes[index, 1], boxes[index, 3]), _nan_max(boxes[index, 1], boxes[index, 3])
            area = (y_max - y_min) * (x_max - x_min)
            suppressed = False
            for other in range(count):  # no break: a loop without one vectorizes, twice as fast here
                height = _nan_max(_nan_min(y_max, corners[2, other]) - _nan_max(y_min, corners[0, other]), zero)
                width = _nan_max(_nan_min(x_max, corners[3, other]) - _nan_max(x_min, corners[1, other]), zero)
                intersection = height * width
                union = area + areas[other] - intersection
                iou = zero if area <= zero or areas[other] <= zero else intersection / union
                suppressed |= iou > iou_threshold  # not for NaN
            if not suppressed:
                selected[count] = index
                corners[0, count], corners[1, count], corners[2, count], corners[3, count] = y_min, x_min, y_max, x_max
                areas[count] = area
                count += 1
                if count == limit:
                    break
        if cut == np.float32(-np.inf):
            break
        upper, bounded, size = cut, True, 4 * size
    return selected[:count]
