"""GL kernels of the image family: ResizeBilinear, ResizeNearestNeighbor, their gradients, CropAndResize,
ImageProjectiveTransformV3, and TF.js's FlipLeftRight and RotateWithOffset (shaders/image/). Arguments
are checked by engine/kernels/resolve/image.py, as the CPU kernels' are.

Sampling positions are computed in float32 in the order of the CPU kernels (TensorFlow's), so the
pixels read agree exactly: the resize scales come from resolve.image (the CPU kernels' too) and reach
the shader as uniforms (not literals the compiler could fold into other roundings), rounding is C's
roundf (half away from zero), done exactly. Bilinear weights and results match to float32 rounding.

What is read on the CPU: sizes (they make the output shape), and ImageProjectiveTransformV3's scalar
fill value (cast to the image dtype first, as TensorFlow; a one-value download if it lives on the
GPU, as TF.js takes it as a number). Boxes, box indices and transforms are sampled in the shaders.
CropAndResize checks CPU-resident box indices (in [0, batch)) and boxes (finite) as TensorFlow does;
GPU-resident ones are not downloaded for the checks: an index outside [0, batch) yields NaN for that
box, and a non-finite box coordinate gives extrapolation_value samples (positions outside the image).

Images must be float32 or int32 in storage (uint8/int16/... images are stored as int32); other
dtypes run the CPU kernel (CPUFallback).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.image import (
    check_crop_boxes,
    crop_dims,
    projective_transform_size,
    resize_setup,
    rotation_setup,
)
from engine.kernels.webgl.common import empty, ints, require_gl_dtypes
from engine.tensors import Tensor, alias
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

F32 = np.float32
_COMMON = "image/common.glsl"
_FILL_MODES = {"CONSTANT": 0, "REFLECT": 1, "WRAP": 2, "NEAREST": 3}


def _vec2(a, b) -> tuple[float, float]:
    """A vec2 uniform from float32 values (moderngl stores them as float32 unchanged)."""
    return float(F32(a)), float(F32(b))


# -- resizing ---------------------------------------------------------------------------------------

def _resize(backend: WebGLBackend, op: str, images: Tensor, size: Tensor, align_corners: bool,
            half_pixel_centers: bool) -> Tensor:
    require_gl_dtypes(images)
    out_h, out_w, scale_h, scale_w = resize_setup(images.shape, ints(size), align_corners, half_pixel_centers)
    bilinear = op == "ResizeBilinear"
    out_dtype = "float32" if bilinear else images.dtype
    if (out_h, out_w) == tuple(images.shape[1:3]) and out_dtype == images.dtype:
        return alias(images)  # TensorFlow copies an image resized to its own size (a lerp would turn inf into NaN)
    out_shape = (images.shape[0], out_h, out_w, images.shape[3])
    if math.prod(out_shape) == 0:
        return empty(out_shape, out_dtype)
    shader = "image/resize_bilinear.glsl" if bilinear else "image/resize_nearest.glsl"
    defines = {"HALF_PIXEL": bool(half_pixel_centers)}
    if not bilinear:
        defines["ALIGN_CORNERS"] = bool(align_corners)
    program = Program(op, (_COMMON, shader), ("A",), defines, {"u_scale": _vec2(scale_h, scale_w)},
                      shape_uniforms=True)
    return backend.run_program(program, [images], out_shape, out_dtype)


@KERNELS.define("ResizeBilinear")
def resize_bilinear(backend, images, size, *, align_corners: bool = False, half_pixel_centers: bool = False):
    return _resize(backend, "ResizeBilinear", images, size, align_corners, half_pixel_centers)


@KERNELS.define("ResizeNearestNeighbor")
def resize_nearest_neighbor(backend, images, size, *, align_corners: bool = False,
                            half_pixel_centers: bool = False):
    return _resize(backend, "ResizeNearestNeighbor", images, size, align_corners, half_pixel_centers)


# -- crop and resize --------------------------------------------------------------------------------

@KERNELS.define("CropAndResize")
def crop_and_resize(backend, image, boxes, box_ind, crop_size, *, method: str = "bilinear",
                    extrapolation_value: float = 0.0):
    require_gl_dtypes(image, boxes, box_ind)
    crop_h, crop_w = crop_dims(image.shape, ints(crop_size))
    batch, height, width, depth = image.shape
    if boxes.size % 4:
        raise ValueError(f"boxes must have 4 columns, got shape {list(boxes.shape)}")
    count = boxes.size // 4
    # CPU-resident indices and boxes are checked as TensorFlow does; others are not read back.
    index_values = box_ind.numpy().reshape(-1) if box_ind.has_values() else None
    box_values = boxes.numpy() if boxes.has_values() else None
    check_crop_boxes(count, box_ind.shape, batch, method, index_values, box_values)
    out_shape = (count, crop_h, crop_w, depth)
    if math.prod(out_shape) == 0:
        return empty(out_shape, "float32")
    boxes2d = boxes if boxes.shape == (count, 4) else alias(boxes, (count, 4))
    program = Program("CropAndResize", (_COMMON, "image/crop_and_resize.glsl"), ("A", "B", "I"),
                      {"NEAREST": method == "nearest"},
                      {"u_extent": _vec2(height - 1, width - 1),
                       "u_steps": _vec2(max(crop_h - 1, 1), max(crop_w - 1, 1)),
                       "u_extrapolation": float(F32(extrapolation_value))})
    return backend.run_program(program, [image, boxes2d, box_ind], out_shape, "float32")


# -- projective transforms --------------------------------------------------------------------------

def _cast_fill(fill_value: Tensor, fine: np.dtype) -> float:
    """The fill value cast to the image type first (C truncation and wrap-around for integers)."""
    fill = np.asarray(fill_value.numpy(), F32).reshape(-1)[:1].reshape(())
    fill = fill.astype(np.int64).astype(fine) if fine.kind in "iu" else fill.astype(fine)
    return float(F32(fill))


@KERNELS.define("ImageProjectiveTransformV3")
def image_projective_transform_v3(backend, images, transforms, output_shape, fill_value, *, interpolation: str,
                                  fill_mode: str = "CONSTANT", dtype: str | None = None):
    require_gl_dtypes(images, transforms)
    out_h, out_w = projective_transform_size(images.shape, transforms.shape, ints(output_shape), fill_mode,
                                             interpolation)
    if images.size == 0:  # nothing to upload or sample: the CPU kernel answers (and validates)
        return backend.run_on_cpu("ImageProjectiveTransformV3", [images, transforms, output_shape, fill_value],
                      {"interpolation": interpolation, "fill_mode": fill_mode, "dtype": dtype})
    batch, height, width, depth = images.shape
    fine = dtypes.numpy_dtype(dtype) if dtype else dtypes.NUMPY_OF[images.dtype]
    integer = images.dtype == "int32"
    wrap_bits = 8 * fine.itemsize if integer and fine.kind in "iu" and fine.itemsize < 4 else 0
    program = Program("ImageProjectiveTransformV3", (_COMMON, "image/transform.glsl"), ("A", "T"),
                      {"NEAREST": interpolation == "NEAREST", "FILL_MODE": _FILL_MODES[fill_mode],
                       "INTEGER": integer, "WRAP_BITS": wrap_bits, "WRAP_SIGNED": fine.kind == "i"},
                      {"u_size": _vec2(width, height), "u_fill": _cast_fill(fill_value, fine)})
    return backend.run_program(program, [images, transforms], (batch, out_h, out_w, depth), images.dtype)


# -- TF.js's image kernels (no TensorFlow op) -------------------------------------------------------

@KERNELS.define("FlipLeftRight")
def flip_left_right(backend, image):
    if image.rank != 4:
        raise ValueError(f"image must be rank 4, got shape {list(image.shape)}")
    if image.size == 0:
        return empty(image.shape, image.dtype)
    require_gl_dtypes(image)
    program = Program("FlipLeftRight", ("image/flip_left_right.glsl",), ("A",), shape_uniforms=True)
    return backend.run_program(program, [image], image.shape, image.dtype)


@KERNELS.define("RotateWithOffset")
def rotate_with_offset(backend, image, *, radians: float, fill_value=0.0, center=0.5):
    """The CPU kernel's float32 source positions; the fill is cast to the image dtype on the CPU."""
    center_x, center_y, cos, sin, fills = rotation_setup(image.shape, radians, fill_value, center)
    if image.size == 0:
        return empty(image.shape, image.dtype)
    require_gl_dtypes(image)
    fills = [float(F32(np.float64(f).astype(dtypes.NUMPY_OF[image.dtype]))) for f in fills]
    program = Program("RotateWithOffset", (_COMMON, "image/rotate.glsl"), ("A",), {"PER_CHANNEL": len(fills) <= 4},
                      {"u_center": (float(center_x), float(center_y)), "u_rotation": (float(cos), float(sin)),
                       "u_fill": tuple((fills + fills[-1:] * 4)[:4])}, shape_uniforms=True)
    return backend.run_program(program, [image], image.shape, image.dtype)


# -- gradients of resizing ----------------------------------------------------------------------------

def _resize_grad(backend: WebGLBackend, grads: Tensor, image_shape: tuple[int, ...], bilinear: bool,
                 align_corners: bool, half_pixel_centers: bool) -> Tensor:
    """The image's gradient, each pixel gathering the output gradients it was read by (shaders/image/
    resize_grad.glsl), with the forward op's scales."""
    if grads.dtype != "float32":
        raise CPUFallback("resize gradients are float32 on the GPU")
    if grads.rank != 4 or len(image_shape) != 4 or grads.shape[::3] != tuple(image_shape)[::3]:
        raise ValueError(f"grads of shape {list(grads.shape)} do not fit an image of shape {list(image_shape)}")
    _, _, scale_h, scale_w = resize_setup(image_shape, grads.shape[1:3], align_corners, half_pixel_centers)
    if math.prod(image_shape) == 0:
        return empty(image_shape, "float32")
    defines = {"BILINEAR": bilinear, "HALF_PIXEL": bool(half_pixel_centers), "ALIGN_CORNERS": bool(align_corners),
               "IMAGE_H": image_shape[1], "IMAGE_W": image_shape[2], "GRAD_H": grads.shape[1],
               "GRAD_W": grads.shape[2],
               "SPAN_H": _span(scale_h, grads.shape[1]), "SPAN_W": _span(scale_w, grads.shape[2])}
    program = Program("resize_grad", (_COMMON, "image/resize_grad.glsl"), ("Dy",), defines,
                      {"u_scale": _vec2(scale_h, scale_w)},
                      loop_iterations=defines["SPAN_H"] * defines["SPAN_W"])
    return backend.run_program(program, [grads], tuple(image_shape), "float32")


def _span(scale: float, outputs: int) -> int:
    """How many output positions along an axis can read one pixel (source = o * scale within 1.5 of
    it), with margin; all of them for a scale of 0 (align_corners onto one pixel)."""
    return outputs if scale == 0 else min(math.ceil(4 / float(scale)) + 3, outputs)


@KERNELS.define("ResizeBilinearGrad")
def resize_bilinear_grad(backend, grads, original_image, *, align_corners: bool = False,
                         half_pixel_centers: bool = False):
    return _resize_grad(backend, grads, tuple(original_image.shape), True, align_corners, half_pixel_centers)


@KERNELS.define("ResizeNearestNeighborGrad")
def resize_nearest_neighbor_grad(backend, grads, size, *, align_corners: bool = False,
                                 half_pixel_centers: bool = False):
    height, width = ints(size)[:2]
    return _resize_grad(backend, grads, (grads.shape[0], height, width, grads.shape[-1]) if grads.rank == 4
                        else tuple(grads.shape), False, align_corners, half_pixel_centers)
