"""Arguments of the transformation family: Cast's float -> integer rules, paddings (Pad, PadV2,
MirrorPad), block moves between space and batch or depth, and BroadcastArgs."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from engine.kernels.resolve.values import int_list

Shape = Sequence[int]

# TensorFlow's vectorized float -> integer conversion: truncated values in [lowest, limit) convert (wrapping
# into unsigned types); NaN and values outside become the marker. 8- and 16-bit targets convert as int32
# then saturate.
FLOAT_TO_INT = {"int32": (-2**31, 2**31, -2**31), "int64": (-2**63, 2**63, -2**63),
                "uint32": (-2**31, 2**32, 2**31), "uint64": (-2**63, 2**64, 2**63)}


def float_to_int_rule(target: str) -> tuple[int, int, int]:
    """(lowest, limit, marker) of a float -> `target` cast; 8- and 16-bit targets take int32's."""
    return FLOAT_TO_INT.get(target, FLOAT_TO_INT["int32"])


# -- padding ----------------------------------------------------------------------------------------

def pad_pairs(paddings, rank: int, op: str) -> list[tuple[int, int]]:
    """A [rank, 2] paddings (or crops) input as (before, after) pairs of non-negative ints."""
    pairs = np.asarray(paddings).reshape(-1)
    if pairs.size != 2 * rank:
        raise ValueError(f"{op}: paddings must be [{rank}, 2], got {np.shape(paddings)}")
    if (pairs < 0).any():
        raise ValueError(f"{op}: paddings must be non-negative, got {pairs.reshape(rank, 2).tolist()}")
    return [(int(a), int(b)) for a, b in pairs.reshape(rank, 2)]


def mirror_pad_pairs(paddings, shape: Shape, mode: str) -> tuple[list[tuple[int, int]], int]:
    """MirrorPad's pairs and reach (1 for REFLECT, 0 for SYMMETRIC). REFLECT excludes the edge
    value (padding < dim); SYMMETRIC repeats it (padding <= dim)."""
    pairs = pad_pairs(paddings, len(shape), "MirrorPad")
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"MirrorPad: unknown mode {mode!r}")
    reach = 0 if mode == "SYMMETRIC" else 1
    for axis, ((before, after), dim) in enumerate(zip(pairs, shape)):
        if max(before, after) > dim - reach:
            raise ValueError(f"MirrorPad: paddings {[before, after]} of dimension {axis} are too large for "
                             f"size {dim} in {mode} mode")
    return pairs, reach


# -- moving space into batch or depth ---------------------------------------------------------------

def _check_spatial_rank(op: str, shape: Shape, blocks: list[int]) -> None:
    if len(shape) < 1 + len(blocks):
        raise ValueError(f"{op}: input of shape {list(shape)} has fewer than the {len(blocks)} spatial "
                         "dimensions block_shape moves")


def space_to_batch_sizes(shape: Shape, blocks: list[int], pairs: list[tuple[int, int]]) -> list[int]:
    """SpaceToBatchND's padded spatial sizes (dims 1..M), each divisible by its block."""
    _check_spatial_rank("SpaceToBatchND", shape, blocks)
    sizes = [before + shape[1 + i] + after for i, (before, after) in enumerate(pairs)]
    if any(b < 1 for b in blocks) or any(s % b for s, b in zip(sizes, blocks)):
        raise ValueError(f"SpaceToBatchND: padded spatial shape {sizes} is not divisible by "
                         f"block_shape {blocks}")
    return sizes


def batch_to_space_sizes(shape: Shape, blocks: list[int], crops: list[tuple[int, int]]) -> list[int]:
    """BatchToSpaceND's spatial sizes before cropping (dims 1..M times their blocks); the batch must
    divide by the blocks and the crops fit in those sizes."""
    _check_spatial_rank("BatchToSpaceND", shape, blocks)
    block_count = math.prod(blocks)
    if any(b < 1 for b in blocks) or shape[0] % block_count:
        raise ValueError(f"BatchToSpaceND: batch {shape[0]} is not divisible by block_shape {blocks}")
    full = [shape[1 + i] * b for i, b in enumerate(blocks)]
    for axis, ((before, after), size) in enumerate(zip(crops, full)):
        if before + after > size:
            raise ValueError(f"BatchToSpaceND: crops {[before, after]} exceed dimension {axis + 1} (size {size})")
    return full


def block_move_shape(op: str, shape: Shape, block_size: int, data_format: str) -> tuple[int, ...]:
    """The output shape (in `data_format`'s layout) of DepthToSpace or SpaceToDepth (`op`): each
    pixel's depth splits into a block_size x block_size patch, or the reverse."""
    if len(shape) != 4 or block_size < 2:
        raise ValueError(f"{op}: needs a 4-D input and block_size >= 2")
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError(f"{op}: unsupported data_format {data_format!r}")
    nchw = data_format == "NCHW"
    n, h, w, c = (shape[0], shape[2], shape[3], shape[1]) if nchw else tuple(shape)
    bs = block_size
    if op == "DepthToSpace":
        if c % (bs * bs):
            raise ValueError(f"DepthToSpace: depth {c} is not divisible by block_size**2 = {bs * bs}")
        h2, w2, c2 = h * bs, w * bs, c // (bs * bs)
    else:
        if h % bs or w % bs:
            raise ValueError(f"SpaceToDepth: height {h} and width {w} must be divisible by block_size {bs}")
        h2, w2, c2 = h // bs, w // bs, c * bs * bs
    return (n, c2, h2, w2) if nchw else (n, h2, w2, c2)


# -- broadcasting -----------------------------------------------------------------------------------

def broadcast_args(s0, s1) -> tuple[int, ...]:
    """BroadcastArgs: the broadcast of two shapes given as vectors (numpy's error when they don't)."""
    return tuple(np.broadcast_shapes(tuple(int_list(s0)), tuple(int_list(s1))))
