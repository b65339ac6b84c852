"""Packed programs (WEBGL_PACK): products, convolutions and elementwise ops that read and write
2x2 blocks per RGBA texel (layout in engine/webgl/textures.py).

Each function returns None when its op has no packed program for these inputs (another dtype, a
broadcast the packed samplers lack, a batch norm in the epilogue, packing switched off), and the
caller runs its unpacked program. Convolutions are products: a 1x1 convolution reads its NHWC input
in place as (N*H) matrices of W x C (the same texels), others go through a packed im2col matrix of
(N*outH) x outW x (kh*kw*C) first, as TF.js's packed Conv2D.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.conv_util import ConvInfo
from engine.kernels.webgl.fused import FusedEpilogue
from engine.tensors import Tensor, alias
from engine.webgl.packed_codegen import can_broadcast_packed
from engine.webgl.program import Program
from engine.webgl.textures import same_packing

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

# A product's shared dim of at most this many texels (16 values) stays a define: llvmpipe then unrolls
# the loop whole, where a uniform trip count's fixed cost makes these short products up to ~50% slower.
# The few such dims of a model's first layers cost a program each; all larger dims share one. (16 texels
# would save another 3-10% of the products' time for 4-7 more programs per model.)
_UNROLLED_SHARED_TEXELS = 8
_COLUMN_PAIRS = ("convolution/column_pairs.glsl",)  # pairAt, for the window programs


def packed_view(backend: WebGLBackend, t: Tensor, shape) -> Tensor:
    """`t` under another shape; a `t` still on the CPU is uploaded (once, to `t`) packed under that shape,
    so the kernel reads it without an unpack and repack."""
    shape = tuple(int(d) for d in shape)
    if shape == t.shape:
        return t
    if not backend.on_gpu(t):
        backend.texture_of(t, packed=True, upload_shape=shape)
    return alias(t, shape)


def _usable(backend: WebGLBackend, *tensors: Tensor) -> bool:
    return backend.pack and all(t.dtype == "float32" for t in tensors)


def _packed_epilogue(backend: WebGLBackend, epilogue: FusedEpilogue | None,
                     out_shape: tuple[int, ...]) -> FusedEpilogue | None:
    """`epilogue` for a packed program (an empty one for none), or None if it cannot be packed. A
    full-size addend (a residual of the 4-D convolution output) is read under the product's shape."""
    if epilogue is None or epilogue.empty:
        return FusedEpilogue()
    tensors = tuple(packed_view(backend, t, out_shape) if t.size == math.prod(out_shape) and t.shape != out_shape
                    and same_packing(t.shape, out_shape) else t for t in epilogue.tensors)
    if epilogue.defines.get("HAS_BATCHNORM") or not all(can_broadcast_packed(t.shape, out_shape) for t in tensors):
        return None
    defines = {k: v for k, v in epilogue.defines.items() if k != "FUSED_EPILOGUE"}
    defines["FUSED_EPILOGUE_PACKED"] = 1
    return dataclasses.replace(epilogue, defines=defines, tensors=tensors)


def matmul(backend: WebGLBackend, a: Tensor, b: Tensor, transpose_a: bool, transpose_b: bool,
           epilogue: FusedEpilogue | None, out_shape: tuple[int, ...]) -> Tensor | None:
    """The product of matmul_tensor (batch dims of either operand equal to the output's, or all
    ones), or None."""
    if not _usable(backend, a, b):
        return None
    batch = math.prod(out_shape[:-2])
    batch_a, batch_b = math.prod(a.shape[:-2]), math.prod(b.shape[:-2])
    if batch_a not in (1, batch) or batch_b not in (1, batch) or \
            (batch_a > 1 and a.shape[:-2] != out_shape[:-2]) or (batch_b > 1 and b.shape[:-2] != out_shape[:-2]):
        return None
    k = a.shape[-2] if transpose_a else a.shape[-1]
    out3 = (batch, out_shape[-2], out_shape[-1])
    packed_epilogue = _packed_epilogue(backend, epilogue, out3)
    if packed_epilogue is None:
        return None
    defines = {**packed_epilogue.defines, "A_BATCHED": batch_a > 1, "B_BATCHED": batch_b > 1,
               "TRANSPOSE_A": bool(transpose_a), "TRANSPOSE_B": bool(transpose_b)}
    a3 = packed_view(backend, a, (batch_a,) + a.shape[-2:])
    b3 = packed_view(backend, b, (batch_b,) + b.shape[-2:])
    texels = (k + 1) // 2
    program = Program("matmul_packed", packed_epilogue.shaders + ("matrices/matmul_packed.glsl",),
                      ("A", "B") + packed_epilogue.inputs, defines, packed_epilogue.uniforms,
                      sizes={"SHARED_TEXELS": texels}, loop_iterations=texels, packed_inputs=True,
                      packed_output=True, shape_uniforms=True, any_parity=True,
                      constant_sizes=("SHARED_TEXELS",) if texels <= _UNROLLED_SHARED_TEXELS else ())
    result = backend.run_program(program, [a3, b3, *packed_epilogue.tensors], out3, "float32")
    return _as_shape(result, out_shape)


def _as_shape(result: Tensor, shape: tuple[int, ...]) -> Tensor:
    if tuple(shape) == result.shape:
        return result
    out = alias(result, shape)
    result.dispose()
    return out


def _plain_2d(info: ConvInfo) -> bool:
    return info.rank == 2 and info.channels_last


def conv2d(backend: WebGLBackend, x: Tensor, filters: Tensor, info: ConvInfo,
           epilogue: FusedEpilogue | None) -> Tensor | None:
    """NHWC Conv2D as a packed product: 1x1 unit-stride unpadded convolutions read x in place,
    others multiply a packed im2col matrix."""
    if not (_plain_2d(info) and _usable(backend, x, filters)) or filters.shape[2] != info.in_channels:
        return None
    (kh, kw), (oh, ow) = info.window, info.out_size
    k = kh * kw * info.in_channels
    w2 = packed_view(backend, filters, (k, info.out_channels))
    pointwise = (kh, kw) == (1, 1) and info.strides == (1, 1) and all(p == (0, 0) for p in info.pads)
    if pointwise:
        columns = packed_view(backend, x, (info.batch * oh, ow, info.in_channels))
    elif _padding_safe(info, filters):
        columns = _im2col(backend, x, info)
    else:
        return None
    result = matmul(backend, columns, w2, False, False, epilogue, (info.batch * oh, ow, info.out_channels))
    if result is None:
        return None
    return _as_shape(result, info.out_shape)


def _padding_safe(info: ConvInfo, filters: Tensor) -> bool:
    """im2col writes padding as zeros, which the product multiplies: TensorFlow skips padded taps,
    so a NaN or Inf weight would differ. Padded convolutions go packed only with finite weights
    known on the CPU (a model's constants)."""
    if all(p == (0, 0) for p in info.pads):
        return True
    return filters.has_values() and bool(np.isfinite(filters.numpy()).all())


def _window(info: ConvInfo) -> dict:
    """The window's sizes, strides, dilations and pads: defines, so that its loops unroll and its
    index math folds (a model has few distinct windows; pads as uniforms cost depthwise ~5%)."""
    (kh, kw) = info.window
    return {"FILTER_H": kh, "FILTER_W": kw, "STRIDE_H": info.strides[0], "STRIDE_W": info.strides[1],
            "DILATION_H": info.dilations[0], "DILATION_W": info.dilations[1], "PAD_H": info.pads[0][0],
            "PAD_W": info.pads[1][0]}


def _image_sizes(info: ConvInfo) -> dict:
    (ih, iw) = info.in_size
    return {"IN_H": ih, "IN_W": iw, "OUT_H": info.out_size[0], "CHANNELS": info.in_channels}


def _im2col(backend: WebGLBackend, x: Tensor, info: ConvInfo) -> Tensor:
    """(N*outH, outW, kh*kw*C) packed: row (n*outH + oy, ox) holds the window of output (n, oy, ox)."""
    shape = (info.batch * info.out_size[0], info.out_size[1], math.prod(info.window) * info.in_channels)
    program = Program("im2col_packed", ("convolution/im2col_packed.glsl",), ("X",), _window(info),
                      sizes=_image_sizes(info), packed_inputs=True, packed_output=True, shape_uniforms=True,
                      constant_sizes=tuple(_image_sizes(info)))
    return backend.run_program(program, [x], shape, "float32")


def depthwise(backend: WebGLBackend, x: Tensor, filters: Tensor, info: ConvInfo,
              epilogue: FusedEpilogue | None) -> Tensor | None:
    """NHWC depthwise convolution with channel multiplier 1: each fragment makes two output columns
    of two channels, reading one or two input texels per tap."""
    if not (_plain_2d(info) and _usable(backend, x, filters)) or filters.shape[-1] != 1:
        return None
    packed_epilogue = _packed_epilogue(backend, epilogue, info.out_shape)
    if packed_epilogue is None:
        return None
    taps = math.prod(info.window)
    w2 = packed_view(backend, filters, (taps, info.in_channels))
    shaders = packed_epilogue.shaders + _COLUMN_PAIRS + ("convolution/depthwise_packed.glsl",)
    program = Program("depthwise_packed", shaders,
                      ("X", "W") + packed_epilogue.inputs, {**packed_epilogue.defines, **_window(info)},
                      packed_epilogue.uniforms, sizes=_image_sizes(info), loop_iterations=taps, packed_inputs=True,
                      packed_output=True, shape_uniforms=True, any_parity=True)
    return backend.run_program(program, [x, w2, *packed_epilogue.tensors], info.out_shape, "float32")


def pool(backend: WebGLBackend, x: Tensor, info: ConvInfo, op: int) -> Tensor | None:
    """NHWC MaxPool or AvgPool (`op`: pool.glsl's POOL_OP, 0 or 1) of an input already packed on the GPU
    (packing just for it would cost more than it saves), two output columns of two channels per fragment."""
    if not (_plain_2d(info) and _usable(backend, x) and _is_packed(backend, x)):
        return None
    program = Program("pool_packed", _COLUMN_PAIRS + ("convolution/pool_packed.glsl",), ("X",),
                      {"POOL_OP": op, **_window(info)},
                      sizes={**_image_sizes(info), "OUT_W": info.out_size[1]}, loop_iterations=math.prod(info.window),
                      packed_inputs=True, packed_output=True, shape_uniforms=True, any_parity=True)
    return backend.run_program(program, [x], info.out_shape, "float32")


def elementwise(backend: WebGLBackend, inputs: list[Tensor], name: str, shaders: tuple[str, ...], out_shape,
                defines: dict, uniforms: dict | None = None) -> Tensor | None:
    """A unary or binary op (`shaders` define unary_op or binary_op) on inputs already packed on the GPU
    (packing just for it would cost more than it saves), broadcasting only as the packed samplers can."""
    if not _usable(backend, *inputs) or len(out_shape) > 4:
        return None
    if not any(_is_packed(backend, t) for t in inputs):
        return None
    if not all(can_broadcast_packed(t.shape, tuple(out_shape)) for t in inputs):
        return None
    names = ("A", "B")[:len(inputs)]
    template = "templates/unary_packed.glsl" if len(inputs) == 1 else "templates/binary_packed.glsl"
    program = Program(f"{name}_packed", tuple(shaders) + (template,), names, defines, uniforms,
                      packed_inputs=True, packed_output=True, shape_uniforms=True)
    return backend.run_program(program, inputs, out_shape, "float32")


def _is_packed(backend: WebGLBackend, t: Tensor) -> bool:
    data = backend.gl_data(t)
    return data is not None and data.packed
