"""Channels-last depthwise convolution in numpy, as einsum over strided views of the zero-padded
input, which sums tap after tap into the output with a fused multiply-add pass and no temporaries.

Each view merges (width, channel) into one contiguous axis, with the weights repeated along it, so
einsum's inner loop runs over a whole output row rather than one pixel's channels (three times
faster for 32 channels). That needs stride 1 along the width; a wider stride first splits the
padded input's columns into `stride` phase planes (column q * stride + p in plane p), where every
tap reads contiguous columns again, and sums one einsum per phase. With many channels a strided
convolution (or an unstrided one over short rows) reads the padded input per pixel instead: its
loops are then long enough, and the copy into planes (or the weights repeated along rows) would
cost more than it saves.

Non-finite weights go tap by tap over the outputs each tap reaches (TensorFlow never multiplies
them by padding), as do dtypes einsum does not take.

Where the views lie, what the planes hold and einsum's subscripts depend only on the call's shapes
and attrs: they are worked out on a layer's first call and kept (`_plan`), since for small layers
that took longer than the arithmetic.

Where the compiled kernels are on (engine.kernels.cpu.compiled, tfgl[fast-cpu]), 2-D float
depthwise convolutions run there instead (1.4 to 3 times faster than these numpy paths, measured
on MoveNet's layers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.kernels.conv_util import ConvInfo, tap_regions
from engine.kernels.cpu import compiled, parallel
from engine.kernels.cpu.fused import Fused
from engine.kernels.cpu.workspace import scratch

# Depthwise convolutions strided along the width with fewer channels than this copy the input into
# phase planes, so that einsum's inner loop spans whole rows; with more, per-pixel loops are long
# enough and the copy costs more than it saves (measured: 96 channels 25% faster split, 144 even,
# 192 and up 30-50% slower).
PHASE_SPLIT_MAX_CHANNELS = 128
# Unstrided ones with at least this many channels and at most PIXELS_MAX_WIDTH output columns read
# the padded input per pixel too: repeating the weights along such short rows costs more than the
# longer inner loops save (measured: 7x7x960 105 -> 70 us, 14x14x384 146 -> 127 us, 20x20x384 even).
PIXELS_MIN_CHANNELS = 256
PIXELS_MAX_WIDTH = 16


@dataclass(frozen=True)
class _View:
    """A read-only strided view of a buffer: offset, shape and strides counted in elements."""
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]

    def of(self, base: np.ndarray) -> np.ndarray:
        size = base.itemsize
        view = np.ndarray(self.shape, base.dtype, base, self.offset * size, tuple(s * size for s in self.strides))
        view.flags.writeable = False
        return view


@dataclass(frozen=True)
class _Phase:
    taps: list[int]    # the width taps that read this plane (a list: einsum's order follows the layout
                       # that indexing with one gives the repeated weights)
    view: _View        # (*row taps, width taps, batch, *out rows, width * channels) of the planes
    weights_shape: tuple[int, ...]  # the tap weights repeated along the output width


@dataclass(frozen=True)
class _Plan:
    planes_shape: tuple[int, ...] | None  # None: the views read x itself (stride 1, no padding)
    zeros: tuple[tuple, ...]               # planes indexes to zero (the padding)
    copies: tuple[tuple[tuple, tuple], ...]  # (planes index, x index): x into the planes
    copy_row_axis: int | None              # the planes' axis of input rows in a copy (None: 1-D)
    phases: tuple[_Phase, ...]             # empty: per-pixel einsum over the padded input
    pixel_view: _View | None
    subscripts: str
    row_axis: int | None                   # the views' axis of the first output rows (None: 1-D)

    def copy_rows(self, planes: np.ndarray, x: np.ndarray, start: int, stop: int) -> None:
        """The copies of x's input rows start:stop into the planes."""
        for target, source in self.copies:
            rows = target[self.copy_row_axis]
            target = (*target[:self.copy_row_axis], slice(rows.start + start, rows.start + stop),
                      *target[self.copy_row_axis + 1:])
            planes[target] = x[(source[0], slice(start, stop), *source[2:])]

    def rows_at(self, start: int, stop: int, axis: int | None = None) -> tuple:
        """The index of output rows start:stop in a view (or at `axis` of another array)."""
        if self.row_axis is None:
            return ()
        return (slice(None),) * (self.row_axis if axis is None else axis) + (slice(start, stop),)


_PLANS: dict[ConvInfo, _Plan] = {}


def depthwise(x: np.ndarray, filters: np.ndarray, info: ConvInfo, fused: Fused | None = None) -> np.ndarray:
    """The depthwise convolution of channels-last x by filters (*window, C, M), a fresh array, in
    chunks of output rows (on the helper threads too); `fused`'s epilogue follows each chunk."""
    dtype = np.result_type(x, filters)
    out = np.empty((info.batch, *info.out_size, info.out_channels), dtype)
    if out.size == 0:
        return out if fused is None else fused.apply(out)
    multiplier = filters.shape[-1]
    if multiplier > 1:  # then output channel c * M + m reads input channel c
        x = np.repeat(x, multiplier, axis=-1)
    x = np.ascontiguousarray(x, dtype)
    weights = filters.reshape(*info.window, info.out_channels).astype(dtype, copy=False)
    if info.rank == 2 and compiled.handles(dtype):
        epilogue = compiled.Epilogue.of(fused, info.out_channels, dtype)
        compiled.depthwise(x, np.ascontiguousarray(weights), out, info.strides, info.dilations, info.pads,
                           epilogue or compiled.Epilogue.of(None, info.out_channels, dtype), parallel.for_rows)
        return out if fused is None or epilogue is not None else fused.apply(out)
    if dtype.kind not in "fciu" or (dtype.kind in "fc" and not np.isfinite(weights).all()):
        out = _depthwise_by_taps(x, weights, info, out)
        return out if fused is None else fused.apply(out)
    plan = _PLANS.get(info)
    if plan is None:
        if len(_PLANS) >= 1024:
            _PLANS.clear()
        plan = _PLANS[info] = _make_plan(info)
    if plan.planes_shape is None:
        planes = x
    else:  # this thread's "padded" scratch buffer: read here only
        planes = scratch("padded", plan.planes_shape, dtype)
        for target in plan.zeros:
            planes[target] = 0
        if plan.copy_row_axis is None:
            for target, source in plan.copies:
                planes[target] = x[source]
        else:
            parallel.for_rows(info.in_size[0], x.size, lambda start, stop: plan.copy_rows(planes, x, start, stop))
    work = out.size * int(np.prod(info.window))
    # chunks of output rows for the helper threads (the width is merged into the rows)
    rows = info.out_size[0] if info.rank > 1 else 1
    epilogue = fused.rows(out) if fused is not None and plan.row_axis is not None else None
    if plan.pixel_view is not None:
        view = plan.pixel_view.of(planes)

        def pixels(start: int, stop: int) -> None:
            np.einsum(plan.subscripts, view[plan.rows_at(start, stop)], weights, out=out[plan.rows_at(start, stop, 1)])
            if epilogue is not None:
                epilogue(start, stop)
        parallel.for_rows(rows, work, pixels)
        return out if fused is None or epilogue is not None else fused.apply(out)
    target = out.reshape(*out.shape[:-2], -1)  # (batch, *rows, width * channels)
    row_size = info.out_size[-1] * info.out_channels
    phases = []
    for phase in plan.phases:
        tap_weights = np.broadcast_to(weights[..., phase.taps, None, :], phase.weights_shape)
        phases.append((phase.view.of(planes), tap_weights.reshape(*phase.weights_shape[:-2], row_size)))

    def rows_of_phases(start: int, stop: int) -> None:
        chunk = target[plan.rows_at(start, stop, 1)]
        for index, (view, tap_weights) in enumerate(phases):
            view = view[plan.rows_at(start, stop)]
            if index == 0:
                np.einsum(plan.subscripts, view, tap_weights, out=chunk)
            else:  # a later phase's sum goes to scratch first: einsum overwrites its output
                part = scratch("depthwise_part", chunk.shape, dtype)
                np.einsum(plan.subscripts, view, tap_weights, out=part)
                np.add(chunk, part, out=chunk)
        if epilogue is not None:
            epilogue(start, stop)
    parallel.for_rows(rows, work, rows_of_phases)
    return out if fused is None or epilogue is not None else fused.apply(out)


def _make_plan(info: ConvInfo) -> _Plan:
    rank, channels, width = info.rank, info.out_channels, info.out_size[-1]
    stride, dilation = info.strides[-1], info.dilations[-1]
    padded = tuple(n + b + a for n, (b, a) in zip(info.in_size, info.pads))
    if channels >= PHASE_SPLIT_MAX_CHANNELS and (stride > 1 or channels >= PIXELS_MIN_CHANNELS
                                                 and width <= PIXELS_MAX_WIDTH):
        shape = (info.batch, *padded, channels)
        strides = _element_strides(shape)
        view = _View(0, (*info.window, info.batch, *info.out_size, channels),
                     (*(st * d for st, d in zip(strides[1:-1], info.dilations)), strides[0],
                      *(st * s for st, s in zip(strides[1:-1], info.strides)), 1))
        taps, outs = "abc"[:rank], "nhij"[:rank + 1]
        zeros, copies = _pad_fills(info)
        return _Plan(shape, zeros, copies, 1 if rank > 1 else None, (), view, f"{taps}{outs}k,{taps}k->{outs}k",
                     rank + 1 if rank > 1 else None)
    # Tap j of the width reads padded column w * stride + j * dilation: phase plane (j * dilation) %
    # stride, column w + (j * dilation) // stride there. Taps sharing a plane are evenly spaced.
    by_phase: dict[int, list[int]] = {}
    for tap in range(info.window[-1]):
        by_phase.setdefault(tap * dilation % stride, []).append(tap)
    phases = sorted(by_phase)
    columns = width + max(tap * dilation // stride for tap in range(info.window[-1]))
    unpadded = stride == 1 and not any(b or a for b, a in info.pads)
    shape = (len(phases), info.batch, *padded[:-1], columns, channels)
    strides = _element_strides(shape)
    plane, batch, *spatial, column, _ = strides
    plans = []
    for index, phase in enumerate(phases):
        taps = by_phase[phase]
        first = taps[0] * dilation // stride
        step = (taps[1] - taps[0]) * dilation // stride if len(taps) > 1 else 1
        view = _View(index * plane + first * column,
                     (*info.window[:-1], len(taps), info.batch, *info.out_size[:-1], width * channels),
                     (*(st * d for st, d in zip(spatial, info.dilations)), step * column, batch,
                      *(st * s for st, s in zip(spatial, info.strides)), 1))
        plans.append(_Phase(taps, view, (*info.window[:-1], len(taps), width, channels)))
    rows, outs = "abc"[:rank - 1], "nhij"[:rank]  # window axes before the width's; batch and rows
    zeros, copies = ((), ()) if unpadded else _plane_fills(info, phases, columns)
    return _Plan(None if unpadded else shape, zeros, copies, 2 if rank > 1 else None, tuple(plans), None,
                 f"{rows}t{outs}k,{rows}tk->{outs}k", rank + 1 if rank > 1 else None)


def _element_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def _pad_fills(info: ConvInfo) -> tuple[tuple, tuple]:
    """(zeros, copies) that make a (batch, *padded, C) buffer hold x zero-padded as info says: each
    axis's borders zeroed over the later axes' whole extent and the earlier axes' inner part, then x."""
    zeros, inside = [], [slice(None)]
    for n, (before, after) in zip(info.in_size, info.pads):
        for border in (slice(0, before), slice(before + n, before + n + after)):
            if border.stop > border.start:
                zeros.append((*inside, border))
        inside.append(slice(before, before + n))
    return tuple(zeros), ((tuple(inside), (slice(None),) * (info.rank + 2)),)


def _plane_fills(info: ConvInfo, phases: list[int], columns: int) -> tuple[tuple, tuple]:
    """(zeros, copies) that fill phase plane i with the padded columns q * stride + phases[i]
    (q < columns; zero past the padded input)."""
    stride, (left, _), size = info.strides[-1], info.pads[-1], info.in_size[-1]
    zeros, copies = [], []
    for index, phase in enumerate(phases):
        inside = [index, slice(None)]  # the rows that hold input, axis by axis
        for n, (before, after) in zip(info.in_size[:-1], info.pads[:-1]):
            for border in (slice(0, before), slice(before + n, before + n + after)):
                if border.stop > border.start:
                    zeros.append((*inside, border))
            inside.append(slice(before, before + n))
        # plane column q holds input column q * stride + phase - left where that lies in [0, size)
        low = min(columns, max(0, -((phase - left) // stride)))
        high = max(low, min(columns, -((phase - left - size) // stride)))
        if low:
            zeros.append((*inside, slice(0, low)))
        if high < columns:
            zeros.append((*inside, slice(high, columns)))
        if high > low:
            start = low * stride + phase - left
            columns_read = slice(start, start + (high - low - 1) * stride + 1, stride)
            copies.append(((*inside, slice(low, high)), (slice(None),) * info.rank + (columns_read,)))
    return tuple(zeros), tuple(copies)


def _depthwise_by_taps(x: np.ndarray, weights: np.ndarray, info: ConvInfo, out: np.ndarray) -> np.ndarray:
    """Depthwise convolution with one multiply-add pass per filter tap over the outputs whose tap
    lands inside the input, so padding is never materialized."""
    out.fill(0)
    # Each tap's weights repeated along the output width, so that with stride 1 (width, channel)
    # merge into one long contiguous inner loop instead of a short loop per pixel.
    width = info.out_size[-1]
    tiled = np.ascontiguousarray(np.broadcast_to(weights[..., None, :], (*info.window, width, info.out_channels)))
    product = np.empty_like(out)
    for tap, outputs, inputs in tap_regions(info):
        tap_weights = tiled[tap][outputs[-1]]
        np.multiply(x[inputs], tap_weights, out=product[outputs])
        np.add(out[outputs], product[outputs], out=out[outputs])
    return out
