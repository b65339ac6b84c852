"""Gradients of the ops that move values without computing: reshapes, casts, padding, slicing,
concatenation, gathering."""
from __future__ import annotations

import numpy as np

from engine.autodiff.grad import Grad
from engine.autodiff.registry import GradientTable
from engine.errors import GradientError
from engine.kernels.resolve.values import first_int

GRADIENTS = GradientTable()


@GRADIENTS.define("Reshape", "Squeeze", "ExpandDims")
def reshape(g: Grad) -> list:
    return [g.reshape(g.dy, g.x.shape)] + [None] * (len(g.inputs) - 1)


@GRADIENTS.define("Cast")
def cast(g: Grad) -> list:
    return [g.dy if g.x.dtype == "float32" else None]


@GRADIENTS.define("BroadcastTo")
def broadcast_to(g: Grad) -> list:
    return [g.unbroadcast(g.dy, g.x.shape), None]


@GRADIENTS.define("Tile")
def tile(g: Grad) -> list:
    """Each tile's gradient summed: dy viewed as (multiple, size) per axis, summed over multiples."""
    multiples = [int(m) for m in np.ravel(g.inputs[1].numpy())]
    split = [n for m, size in zip(multiples, g.x.shape) for n in (m, size)]
    summed = g.run("Sum", g.reshape(g.dy, split), list(range(0, 2 * g.x.rank, 2)), keep_dims=False)
    return [g.reshape(summed, g.x.shape), None]


@GRADIENTS.define("Pad", "PadV2")
def pad(g: Grad) -> list:
    paddings = np.asarray(g.inputs[1].numpy()).reshape(-1, 2)
    return [g.run("Slice", g.dy, paddings[:, 0].astype(np.int32).tolist(), list(g.x.shape))] + \
        [None] * (len(g.inputs) - 1)


@GRADIENTS.define("Slice")
def slice_(g: Grad) -> list:
    begin = [int(b) for b in np.ravel(g.inputs[1].numpy())]
    after = [n - b - s for n, b, s in zip(g.x.shape, begin, g.y.shape)]
    return [g.run("Pad", g.dy, [[b, a] for b, a in zip(begin, after)]), None, None]


@GRADIENTS.define("ConcatV2")
def concat(g: Grad) -> list:
    *parts, axis = g.inputs
    axis = first_int(axis.numpy()) % g.y.rank
    grads, start = [], 0
    for index, part in enumerate(parts):
        begin = [0] * g.y.rank
        begin[axis] = start
        grads.append(g.run("Slice", g.dy, begin, list(part.shape)) if g.wants(index) else None)
        start += part.shape[axis]
    return [*grads, None]


@GRADIENTS.define("GatherV2")
def gather(g: Grad) -> list:
    """Axis-0 gathers (Embedding): each gathered row's gradient added back onto its row."""
    params, indices, axis = g.inputs
    if first_int(axis.numpy()) % params.rank != 0 or int(g.attrs.get("batch_dims", 0) or 0):
        raise GradientError("GatherV2's gradient covers axis 0 without batch_dims (Embedding)")
    rows = g.reshape(g.dy, [indices.size, *params.shape[1:]])
    flat = g.reshape(indices, [indices.size])
    return [g.run("UnsortedSegmentSum", rows, flat, params.shape[0]), None, None]


@GRADIENTS.define("Split")
def split(g: Grad) -> list:
    """The parts' gradients joined back along the split axis (zeros stand for parts with none)."""
    axis, value = g.inputs
    return [None, g.run("ConcatV2", *g.dys, first_int(axis.numpy()) % value.rank, N=len(g.dys))]


@GRADIENTS.define("Pack")
def pack(g: Grad) -> list:
    return g.run_all("Unpack", g.dy, axis=int(g.attrs.get("axis", 0)), num=len(g.inputs))


@GRADIENTS.define("Unpack")
def unpack(g: Grad) -> list:
    return [g.run("Pack", *g.dys, axis=int(g.attrs.get("axis", 0)), N=len(g.dys))]


@GRADIENTS.define("ReverseV2")
def reverse(g: Grad) -> list:
    return [g.run("ReverseV2", g.dy, g.inputs[1]), None]


@GRADIENTS.define("SelectV2")
def select(g: Grad) -> list:
    """dy to the branch each element was taken from, summed back to that branch's shape."""
    condition, then, other = g.inputs
    zeros = g.run("ZerosLike", g.dy)
    return [None,
            g.unbroadcast(g.run("SelectV2", condition, g.dy, zeros), then.shape) if g.wants(1) else None,
            g.unbroadcast(g.run("SelectV2", condition, zeros, g.dy), other.shape) if g.wants(2) else None]
