"""GL kernels of the transformation family: Cast, Pad/PadV2, MirrorPad, SpaceToBatchND,
BatchToSpaceND, DepthToSpace, SpaceToDepth, BroadcastTo and BroadcastArgs.

Paddings, block shapes, crops and target shapes are read on the CPU and resolved, as the CPU
kernels' are, by engine/kernels/resolve/transformation.py: both backends raise the same errors.

Cast follows the CPU kernel (TensorFlow's CPU conversions, resolve's float_to_int_rule) on the values a texture holds:
float -> integer truncates toward zero, NaN and out-of-range values become TensorFlow's marker,
8/16-bit targets saturate, and int64/uint32/uint64 results keep their low 32 bits as tfgl stores
them; int32 -> 8/16-bit integers wrap. Int32 textures hold floats, exact up to 2**24 (as in TF.js),
so those are the integers these casts see. Casts to float16/bfloat16 (mantissa rounding) and to
complex64/string (no texture form) run on the CPU (CPUFallback); string/complex sources never were
on the GPU and use the CPU kernel directly.
"""
from __future__ import annotations

import math

import numpy as np

from engine import dtypes
from engine.errors import ModelFormatError
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.transformation import (
    batch_to_space_sizes, block_move_shape, float_to_int_rule, mirror_pad_pairs, pad_pairs, space_to_batch_sizes,
)
from engine.kernels.resolve.transformation import broadcast_args as broadcast_args_shape
from engine.kernels.webgl.common import empty, has_texture_form, index_map, ints, require_rank, unary, uniform_array
from engine.kernels.webgl.creation import fill
from engine.tensors import Tensor, alias
from engine.webgl.program import CPUFallback, Program
from engine.webgl.textures import GL_DTYPES

KERNELS = KernelTable()

_NO_CLAMP = 3.0e38


# -- Cast -------------------------------------------------------------------------------------------

@KERNELS.define("Cast")
def cast(backend, x, *, DstT: str, Truncate: bool = False):
    if not has_texture_form(x):
        return backend.run_on_cpu("Cast", [x], {"DstT": DstT, "Truncate": Truncate})
    try:
        storage = dtypes.storage_dtype(DstT)
    except ModelFormatError:
        storage = None
    if storage not in GL_DTYPES:
        raise CPUFallback(f"Cast to {DstT} makes data with no texture form")
    source = x.dtype
    if storage == "bool":
        return x if source == "bool" else _cast(backend, x, "bool", CAST_MODE=1)
    if source == "bool":  # 0 and 1 are exact in every target
        return _cast(backend, x, storage, CAST_MODE=0)
    if DstT in ("float16", "bfloat16"):
        raise CPUFallback(f"Cast to {DstT} rounds mantissas")
    if storage == "float32":
        return x if source == "float32" else _cast(backend, x, "float32", CAST_MODE=0)
    target = np.dtype(dtypes.numpy_dtype(DstT))
    if source == "float32":
        lowest, limit, marker = float_to_int_rule(target.name)
        low, high = (np.iinfo(target).min, np.iinfo(target).max) if target.itemsize < 4 else (-_NO_CLAMP, _NO_CLAMP)
        return _cast(backend, x, "int32", CAST_MODE=2, INT_LOWEST=float(lowest), INT_LIMIT=float(limit),
                     INT_MARKER=float(marker), CLAMP_LOW=float(low), CLAMP_HIGH=float(high))
    if target.itemsize >= 4:  # int32 -> int32/int64/uint32/uint64: stored as the same int32 bits
        return x
    return _cast(backend, x, "int32", CAST_MODE=3, WRAP_BITS=8 * target.itemsize, WRAP_SIGNED=target.kind == "i")


def _cast(backend, x: Tensor, out_dtype: str, **defines) -> Tensor:
    if x.size == 0:
        return empty(x.shape, out_dtype)
    return unary(backend, x, "transformation/cast.glsl", out_dtype, defines)


# -- padding ----------------------------------------------------------------------------------------

@KERNELS.define("Pad")
def pad(backend, x, paddings):
    if not has_texture_form(x):
        return backend.run_on_cpu("Pad", [x, paddings])
    return _pad(backend, x, pad_pairs(paddings.numpy(), x.rank, "Pad"), 0.0)


@KERNELS.define("PadV2")
def pad_v2(backend, x, paddings, constant_values):
    if not has_texture_form(x):
        return backend.run_on_cpu("PadV2", [x, paddings, constant_values])
    pairs = pad_pairs(paddings.numpy(), x.rank, "PadV2")
    return _pad(backend, x, pairs, float(np.asarray(constant_values.numpy()).reshape(-1)[0]))


def _padded_shape(x: Tensor, pairs) -> tuple[int, ...]:
    return tuple(before + d + after for d, (before, after) in zip(x.shape, pairs))


def _pad(backend, x: Tensor, pairs, value: float) -> Tensor:
    out_shape = _padded_shape(x, pairs)
    if out_shape == x.shape:
        return x
    if x.size == 0:
        return fill(backend, out_shape, value, x.dtype)
    return index_map(backend, x, out_shape, "transformation/pad.glsl",
                     uniforms={"u_before": uniform_array(b for b, _ in pairs), "u_value": value})


@KERNELS.define("MirrorPad")
def mirror_pad(backend, x, paddings, *, mode: str):
    if not has_texture_form(x):
        return backend.run_on_cpu("MirrorPad", [x, paddings], {"mode": mode})
    pairs, reach = mirror_pad_pairs(paddings.numpy(), x.shape, mode)
    out_shape = _padded_shape(x, pairs)
    if out_shape == x.shape:
        return x
    if math.prod(out_shape) == 0:
        return empty(out_shape, x.dtype)
    return index_map(backend, x, out_shape, "transformation/mirror_pad.glsl", defines={"MIRROR_OFFSET": reach},
                     uniforms={"u_before": uniform_array(b for b, _ in pairs)})


# -- moving space into batch or depth ---------------------------------------------------------------

@KERNELS.define("SpaceToBatchND")
def space_to_batch_nd(backend, x, block_shape, paddings):
    if not has_texture_form(x):
        return backend.run_on_cpu("SpaceToBatchND", [x, block_shape, paddings])
    blocks = ints(block_shape)
    spatial = len(blocks)
    pairs = pad_pairs(paddings.numpy(), spatial, "SpaceToBatchND")
    sizes = space_to_batch_sizes(x.shape, blocks, pairs)
    if not spatial:
        return x
    out_shape = (x.shape[0] * math.prod(blocks),) + tuple(s // b for s, b in zip(sizes, blocks)) + \
        x.shape[1 + spatial:]
    if math.prod(out_shape) == 0:
        return empty(out_shape, x.dtype)
    return index_map(backend, x, out_shape, "transformation/space_to_batch.glsl", defines={"SPATIAL": spatial},
                     uniforms={"u_block": uniform_array(blocks), "u_pad": uniform_array(b for b, _ in pairs)})


@KERNELS.define("BatchToSpaceND")
def batch_to_space_nd(backend, x, block_shape, crops):
    if not has_texture_form(x):
        return backend.run_on_cpu("BatchToSpaceND", [x, block_shape, crops])
    blocks = ints(block_shape)
    spatial = len(blocks)
    pairs = pad_pairs(crops.numpy(), spatial, "BatchToSpaceND")
    full = batch_to_space_sizes(x.shape, blocks, pairs)
    if not spatial:
        return x
    out_shape = (x.shape[0] // math.prod(blocks),) + tuple(s - b - a for s, (b, a) in zip(full, pairs)) + \
        x.shape[1 + spatial:]
    if math.prod(out_shape) == 0:
        return empty(out_shape, x.dtype)
    return index_map(backend, x, out_shape, "transformation/batch_to_space.glsl", defines={"SPATIAL": spatial},
                     uniforms={"u_block": uniform_array(blocks), "u_crop": uniform_array(b for b, _ in pairs)})


def _block_move(backend, op: str, x: Tensor, block_size: int, data_format: str) -> Tensor:
    out_shape = block_move_shape(op, x.shape, block_size, data_format)
    if math.prod(out_shape) == 0:
        return empty(out_shape, x.dtype)
    shader = "transformation/depth_to_space.glsl" if op == "DepthToSpace" else "transformation/space_to_depth.glsl"
    program = Program(op, (shader,), ("A",), {"BLOCK": block_size, "NCHW": data_format == "NCHW"})
    return backend.run_program(program, [x], out_shape, x.dtype)


@KERNELS.define("DepthToSpace")
def depth_to_space(backend, x, *, block_size: int, data_format: str = "NHWC"):
    if not has_texture_form(x):
        return backend.run_on_cpu("DepthToSpace", [x], {"block_size": block_size, "data_format": data_format})
    return _block_move(backend, "DepthToSpace", x, block_size, data_format)


@KERNELS.define("SpaceToDepth")
def space_to_depth(backend, x, *, block_size: int, data_format: str = "NHWC"):
    if not has_texture_form(x):
        return backend.run_on_cpu("SpaceToDepth", [x], {"block_size": block_size, "data_format": data_format})
    return _block_move(backend, "SpaceToDepth", x, block_size, data_format)


# -- broadcasting -----------------------------------------------------------------------------------

@KERNELS.define("BroadcastTo")
def broadcast_to(backend, x, shape):
    if not has_texture_form(x):
        return backend.run_on_cpu("BroadcastTo", [x, shape])
    target = tuple(ints(shape))
    try:
        fits = np.broadcast_shapes(x.shape, target) == target
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"BroadcastTo: shape {list(x.shape)} does not broadcast to {list(target)}")
    if target == x.shape:
        return x
    if math.prod(target) == 0:
        return empty(target, x.dtype)
    require_rank(target)
    program = Program("broadcast", ("transformation/broadcast.glsl",), ("A",))
    return backend.run_program(program, [x], target, x.dtype)


@KERNELS.define("BroadcastArgs")
def broadcast_args(backend, s0, s1):
    """The broadcast of two shape vectors: out[k] = s0[k] where s1[k] is 1, else s1[k] (aligned at
    the ends, missing dims 1). Compatibility is checked on the CPU when both inputs' values are
    there (resolve's broadcast_args, as the CPU kernel checks it); shapes only on the GPU are not
    read back, and an incompatible pair gives s1's dimension."""
    if not has_texture_form(s0, s1):
        return backend.run_on_cpu("BroadcastArgs", [s0, s1])
    for s in (s0, s1):
        if s.rank != 1:
            raise ValueError(f"BroadcastArgs: shapes must be vectors, got shape {list(s.shape)}")
    if s0.has_values() and s1.has_values():
        broadcast_args_shape(s0.numpy(), s1.numpy())
    if s1.size == 0:
        return alias(s0)
    if s0.size == 0:
        return alias(s1)
    program = Program("broadcast_args", ("transformation/broadcast_args.glsl",), ("A", "B"))
    return backend.run_program(program, [s0, s1], (max(s0.size, s1.size),), s0.dtype)
