"""Transformation ops (op_list/transformation.json): casts, padding, space<->batch/depth moves, broadcasting.

Reshape, Squeeze, ExpandDims and EnsureShape never read values and live in kernels/neutral/graph.py.
"""
from __future__ import annotations

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.transformation import (
    batch_to_space_sizes, block_move_shape, float_to_int_rule, mirror_pad_pairs, pad_pairs, space_to_batch_sizes,
)
from engine.kernels.resolve.transformation import broadcast_args as broadcast_args_shape
from engine.kernels.resolve.values import checked_size, int_list

KERNELS = KernelTable()


def _pad(x: np.ndarray, pairs: list[tuple[int, int]], **how) -> np.ndarray:
    """np.pad, which can't take the empty padding list of a scalar. A constant padding is filled and
    copied in directly: np.pad costs some 30 us of Python per call, more than a small tensor's copy."""
    shape = [d + b + a for d, (b, a) in zip(x.shape, pairs)]
    checked_size("a padded tensor", shape)
    if not pairs:
        return x
    if "mode" in how:
        return np.pad(x, pairs, **how)
    out = np.full(shape, how["constant_values"], x.dtype)
    out[tuple(slice(b, b + d) for d, (b, _) in zip(x.shape, pairs))] = x
    return out


def _zero_of(dtype: np.dtype):
    """The padding value TensorFlow uses by default: zero, or the empty string."""
    return b"" if dtype == np.dtype(object) else np.zeros((), dtype)[()]


# -- Cast -------------------------------------------------------------------------------------------

# Mantissa bits dropped when Truncate narrows float32 to these types (TensorFlow's LSBZeroSetter).
_TRUNCATED_BITS = {"float16": 13, "bfloat16": 16}


@KERNELS.define("Cast")
def cast(x, *, DstT: str, Truncate: bool = False):
    """Values as TensorFlow's CPU cast makes them, then kept in tfgl's storage dtype.

    Float -> integer truncates toward zero; out-of-range values and NaN follow float_to_int_rule, so
    300.0 -> uint8 gives 255 and -1.0 gives 0, as TF's SIMD path does for all but the last few
    elements of a tensor (its scalar tail wraps instead). Complex sources cast their real part
    (complex -> bool too). `Truncate` zeroes the dropped mantissa bits of a float narrowed to
    float16/bfloat16 instead of rounding to nearest.
    """
    if x.dtype == object or DstT == "string":
        if x.dtype == object and DstT == "string":
            return x
        source = "string" if x.dtype == object else dtypes.dtype_of_array(x)
        raise ValueError(f"Cast {source} to {DstT} is not supported")
    if x.dtype.kind == "c" and not DstT.startswith("complex"):
        x = x.real
    if DstT == "bool":
        return x != 0
    if DstT in _TRUNCATED_BITS:
        return _narrow_float(x.astype(np.float32), DstT, Truncate and x.dtype.kind == "f")
    target = dtypes.numpy_dtype(DstT)
    if target.kind in "iu" and x.dtype.kind == "f":
        return _float_to_int(x, target)
    return x.astype(target)


def _float_to_int(x: np.ndarray, target: np.dtype) -> np.ndarray:
    lowest, limit, marker = float_to_int_rule(target.name)
    # int32 and int64 hold [lowest, limit): without NaN or values out of it, C's cast is the same
    if target.kind == "i" and target.itemsize >= 4 and x.size and lowest <= float(x.min()) \
            and float(x.max()) < limit:
        return x.astype(target)
    values = np.trunc(x.astype(np.float64))
    values = np.where((values >= lowest) & (values < limit), values, marker)
    if target.itemsize < 4:
        values = np.clip(values, np.iinfo(target).min, np.iinfo(target).max)
    # Through int64, whose wrap-around into the target keeps the low bits of unsigned values too.
    return np.where(values >= 2**63, values - 2**64, values).astype(np.int64).astype(target)


def _narrow_float(x: np.ndarray, name: str, truncate: bool) -> np.ndarray:
    """float32 -> float16 / bfloat16 values (returned widened to float32 for bfloat16)."""
    bits = x.view(np.uint32)
    if truncate:
        bits = np.where(np.isnan(x), bits, bits & ~np.uint32((1 << _TRUNCATED_BITS[name]) - 1))
    if name == "float16":
        return bits.view(np.float32).astype(np.float16)
    if not truncate:  # round to nearest even on the upper 16 bits
        bits = bits + np.uint32(0x7FFF) + (bits >> np.uint32(16) & np.uint32(1))
    rounded = (bits & np.uint32(0xFFFF0000)).view(np.float32)
    return np.where(np.isnan(x), x, rounded)


# -- padding ----------------------------------------------------------------------------------------

@KERNELS.define("Pad")
def pad(x, paddings):
    return _pad(x, pad_pairs(paddings, x.ndim, "Pad"), constant_values=_zero_of(x.dtype))


@KERNELS.define("PadV2")
def pad_v2(x, paddings, constant_values):
    return _pad(x, pad_pairs(paddings, x.ndim, "PadV2"), constant_values=np.asarray(constant_values).item())


@KERNELS.define("MirrorPad")
def mirror_pad(x, paddings, *, mode: str):
    """REFLECT excludes the edge value (padding < dim); SYMMETRIC repeats it (padding <= dim)."""
    pairs, _ = mirror_pad_pairs(paddings, x.shape, mode)
    return _pad(x, pairs, mode=mode.lower())


# -- moving space into batch or depth ---------------------------------------------------------------

@KERNELS.define("SpaceToBatchND")
def space_to_batch_nd(x, block_shape, paddings):
    """Zero-pads the M spatial dims (1..M), then moves each block offset into the batch dimension:
    out batch index = offset (row-major over blocks) * batch + b."""
    blocks = int_list(block_shape)
    spatial = len(blocks)
    pairs = pad_pairs(paddings, spatial, "SpaceToBatchND")
    padded = np.pad(x, [(0, 0)] + pairs + [(0, 0)] * (x.ndim - 1 - spatial), constant_values=_zero_of(x.dtype))
    sizes = space_to_batch_sizes(x.shape, blocks, pairs)
    rest = padded.shape[1 + spatial:]
    split = [x.shape[0]] + [d for s, b in zip(sizes, blocks) for d in (s // b, b)] + list(rest)
    order = [2 + 2 * i for i in range(spatial)] + [0] + [1 + 2 * i for i in range(spatial)] + \
        list(range(1 + 2 * spatial, len(split)))
    out = padded.reshape(split).transpose(order)
    return out.reshape([x.shape[0] * int(np.prod(blocks))] + [s // b for s, b in zip(sizes, blocks)] + list(rest))


@KERNELS.define("BatchToSpaceND")
def batch_to_space_nd(x, block_shape, crops):
    """Inverse of SpaceToBatchND: moves block offsets from the batch back into space, then crops."""
    blocks = int_list(block_shape)
    spatial = len(blocks)
    pairs = pad_pairs(crops, spatial, "BatchToSpaceND")
    batch_to_space_sizes(x.shape, blocks, pairs)
    block_count = int(np.prod(blocks))
    batch, sizes, rest = x.shape[0] // block_count, x.shape[1:1 + spatial], x.shape[1 + spatial:]
    split = x.reshape(blocks + [batch] + list(x.shape[1:]))
    order = [spatial] + [i for s in range(spatial) for i in (spatial + 1 + s, s)] + \
        list(range(2 * spatial + 1, split.ndim))
    full = split.transpose(order).reshape([batch] + [s * b for s, b in zip(sizes, blocks)] + list(rest))
    return full[(slice(None),) + tuple(slice(b, s - a) for (b, a), s in zip(pairs, full.shape[1:]))]


def _nhwc(fn, op: str, x: np.ndarray, block_size: int, data_format: str) -> np.ndarray:
    """Runs an NHWC implementation on NCHW data by transposing around it, once the arguments are checked."""
    block_move_shape(op, x.shape, block_size, data_format)
    if data_format == "NHWC":
        return fn(x, block_size)
    return fn(x.transpose(0, 2, 3, 1), block_size).transpose(0, 3, 1, 2)


def _depth_to_space(x: np.ndarray, size: int) -> np.ndarray:
    n, h, w, c = x.shape
    depth = c // (size * size)
    return x.reshape(n, h, w, size, size, depth).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * size, w * size, depth)


def _space_to_depth(x: np.ndarray, size: int) -> np.ndarray:
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // size, size, w // size, size, c).transpose(0, 1, 3, 2, 4, 5)
    return blocks.reshape(n, h // size, w // size, size * size * c)


@KERNELS.define("DepthToSpace")
def depth_to_space(x, *, block_size: int, data_format: str = "NHWC"):
    """Each pixel's depth splits into a block_size x block_size patch (depth index = (row*bs + col)*C' + c)."""
    return _nhwc(_depth_to_space, "DepthToSpace", x, block_size, data_format)


@KERNELS.define("SpaceToDepth")
def space_to_depth(x, *, block_size: int, data_format: str = "NHWC"):
    """Inverse of DepthToSpace."""
    return _nhwc(_space_to_depth, "SpaceToDepth", x, block_size, data_format)


# -- broadcasting -----------------------------------------------------------------------------------

@KERNELS.define("BroadcastTo")
def broadcast_to(x, shape):
    """A materialized copy: other kernels may assume their inputs own contiguous memory."""
    return np.broadcast_to(x, checked_size("BroadcastTo's output", int_list(shape))).copy()


@KERNELS.define("BroadcastArgs")
def broadcast_args(s0, s1):
    """The broadcast of two shapes given as vectors."""
    return np.array(broadcast_args_shape(s0, s1), dtype=s0.dtype)
