"""Arguments of the image family: resize sizes and scales (TensorFlow's ImageResizerState),
CropAndResize's crop size, boxes and box indices, ImageProjectiveTransformV3's modes and size.

Scales are float32, computed in the order of TensorFlow's CPU kernels, so every backend samples
the same source positions.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

F32 = np.float32
Shape = Sequence[int]

FILL_MODES = ("CONSTANT", "NEAREST", "REFLECT", "WRAP")  # ImageProjectiveTransformV3's fill_mode values


def resize_setup(images_shape: Shape, size, align_corners: bool, half_pixel_centers: bool):
    """Validates like TensorFlow's ImageResizerState; returns output size and float32 scales."""
    if len(images_shape) != 4:
        raise ValueError(f"input must be 4-dimensional, got shape {list(images_shape)}")
    if half_pixel_centers and align_corners:
        raise ValueError("If half_pixel_centers is True, align_corners must be False.")
    out_h, out_w = (int(s) for s in np.asarray(size).reshape(-1)[:2])
    if out_h <= 0 or out_w <= 0:
        raise ValueError("output dimensions must be positive")
    in_h, in_w = images_shape[1:3]
    if in_h == 0 or in_w == 0:
        raise ValueError("input image must be of non-zero size")

    def scale(in_size: int, out_size: int) -> np.float32:
        if align_corners and out_size > 1:
            return F32(in_size - 1) / F32(out_size - 1)
        return F32(in_size) / F32(out_size)

    return out_h, out_w, scale(in_h, out_h), scale(in_w, out_w)


def crop_dims(image_shape: Shape, size) -> tuple[int, int]:
    """CropAndResize's (crop height, crop width), once the image is checked to be 4-D and non-empty."""
    if len(image_shape) != 4:
        raise ValueError(f"input image must be 4-D, got shape {list(image_shape)}")
    height, width = image_shape[1:3]
    if height <= 0 or width <= 0:
        raise ValueError("image dimensions must be positive")
    crop_h, crop_w = (int(s) for s in np.asarray(size).reshape(-1)[:2])
    if crop_h <= 0 or crop_w <= 0:
        raise ValueError("crop dimensions must be positive")
    return crop_h, crop_w


def check_crop_boxes(count: int, box_ind_shape: Shape, batch: int, method: str,
                     box_ind: np.ndarray | None = None, boxes: np.ndarray | None = None) -> None:
    """CropAndResize's `count` boxes: one box index each, in [0, batch), finite coordinates and a
    known method. Index and box values are checked when given (None: not read)."""
    if math.prod(box_ind_shape) != count:
        raise ValueError(f"box_index has incompatible shape {list(box_ind_shape)} for {count} boxes")
    if box_ind is not None and np.any((box_ind < 0) | (box_ind >= batch)):
        raise ValueError("box_index has values outside [0, batch_size)")
    if boxes is not None and not np.isfinite(boxes).all():
        raise ValueError("Boxes contains at least one element that is not finite")
    if method not in ("bilinear", "nearest"):
        raise ValueError(f"method must be 'bilinear' or 'nearest', got {method!r}")


def projective_transform_size(images_shape: Shape, transforms_shape: Shape, output_shape, fill_mode: str,
                              interpolation: str) -> tuple[int, int]:
    """ImageProjectiveTransformV3's output (height, width), once images (4-D), transforms (1 or
    one per image, 8 values each), fill_mode and interpolation are checked."""
    if len(images_shape) != 4:
        raise ValueError(f"Input images must have rank 4, got shape {list(images_shape)}")
    if len(transforms_shape) != 2 or transforms_shape[1] != 8 or transforms_shape[0] not in (1, images_shape[0]):
        raise ValueError("Input transform should be num_images x 8 or 1 x 8")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"Unknown fill_mode {fill_mode!r}")
    if interpolation not in ("NEAREST", "BILINEAR"):
        raise ValueError(f"Unknown interpolation {interpolation!r}")
    out_h, out_w = (int(s) for s in np.asarray(output_shape).reshape(-1)[:2])
    if out_h <= 0 or out_w <= 0:
        raise ValueError("output dimensions must be positive")
    return out_h, out_w


def rotation_setup(images_shape: Shape, radians: float, fill_value, center) -> tuple[F32, F32, F32, F32, list[F32]]:
    """TF.js's rotateWithOffset arguments: float32 (center x, center y, cos, sin) and the fill per
    channel. `center` is a fraction of the width and height (one number for both, or [x, y]);
    `fill_value` one number, or [r, g, b] with 255 for a fourth (alpha) channel, as TF.js's CPU kernel."""
    if len(images_shape) != 4:
        raise ValueError(f"image must be rank 4, got shape {list(images_shape)}")
    height, width, channels = images_shape[1:]
    fractions = np.asarray(center, np.float64).reshape(-1)
    fills = np.asarray(fill_value, np.float64).reshape(-1)
    if fractions.size not in (1, 2):
        raise ValueError(f"center must be a number or [x, y], got {center!r}")
    if fills.size not in (1, 3):
        raise ValueError(f"fill_value must be a number or [r, g, b], got {fill_value!r}")
    if fills.size == 3 and channels > 4:
        raise ValueError(f"a fill_value per channel needs at most 4 channels, got {channels}")
    center_x, center_y = width * fractions[0], height * fractions[-1]
    per_channel = [fills[0]] * channels if fills.size == 1 else [*fills, 255.0][:channels]
    with np.errstate(invalid="ignore"):  # an infinite angle: NaN, which reads no pixel (TF.js's JavaScript too)
        cos, sin = np.cos(np.float64(radians)), np.sin(np.float64(radians))
    return F32(center_x), F32(center_y), F32(cos), F32(sin), [F32(f) for f in per_channel]
