"""Image ops (op_list/image.json): resizing, crop-and-resize and projective transforms, as TensorFlow;
and TF.js's FlipLeftRight and RotateWithOffset, which have no TensorFlow op.

Coordinates are computed in float32 in the same order as TensorFlow's CPU kernels, so sampling
positions (and hence which pixels are read) agree exactly; rounding is C's roundf (half away from
zero), not numpy's half-to-even.
"""
from __future__ import annotations

import numpy as np

from engine import dtypes
from engine.kernels.cpu import compiled, parallel
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.image import (
    check_crop_boxes,
    crop_dims,
    projective_transform_size,
    resize_setup,
    rotation_setup,
)

KERNELS = KernelTable()

F32 = np.float32


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C roundf on float32 values, computed in float64 where x + 0.5 is exact."""
    wide = np.asarray(x, np.float64)
    return np.sign(wide) * np.floor(np.abs(wide) + 0.5)


def _bilinear_weights(out_size: int, in_size: int, scale: np.float32, half_pixel_centers: bool):
    """Per output index: lower and upper source index and the lerp weight (TF's CachedInterpolation)."""
    position = np.arange(out_size, dtype=F32)
    source = (position + F32(0.5)) * scale - F32(0.5) if half_pixel_centers else position * scale
    floor = np.floor(source)
    lower = np.maximum(floor.astype(np.int64), 0)
    upper = np.minimum(np.ceil(source).astype(np.int64), in_size - 1)
    return lower, upper, source - floor


@KERNELS.define("ResizeBilinear")
def resize_bilinear(images, size, *, align_corners: bool = False, half_pixel_centers: bool = False):
    out_h, out_w, scale_h, scale_w = resize_setup(images.shape, size, align_corners, half_pixel_centers)
    pixels = images.astype(F32, copy=False)
    if (out_h, out_w) == pixels.shape[1:3]:  # TensorFlow copies the image (its infinities too)
        return pixels
    y_lo, y_hi, y_lerp = _bilinear_weights(out_h, images.shape[1], scale_h, half_pixel_centers)
    x_lo, x_hi, x_lerp = _bilinear_weights(out_w, images.shape[2], scale_w, half_pixel_centers)
    if compiled.handles_once_loaded(F32) and pixels.ndim == 4 and pixels.size and out_h * out_w:
        out = np.empty((pixels.shape[0], out_h, out_w, pixels.shape[3]), F32)
        return compiled.resize_bilinear(np.ascontiguousarray(pixels), y_lo, y_hi, y_lerp, x_lo, x_hi, x_lerp, out,
                                        parallel.for_rows)
    # Lerp along the width once per input row that is read (not once per output row: upsampling
    # reads each twice), then between rows; each value is TF's float32 expression all the same.
    rows_read = np.union1d(y_lo, y_hi)
    if rows_read.size < pixels.shape[1]:
        pixels = pixels[:, rows_read]
        y_lo, y_hi = np.searchsorted(rows_read, y_lo), np.searchsorted(rows_read, y_hi)
    left = np.take(pixels, x_lo, axis=2)
    rows = np.take(pixels, x_hi, axis=2)
    rows -= left
    rows *= x_lerp[:, None]
    rows += left
    top = np.take(rows, y_lo, axis=1)
    out = np.take(rows, y_hi, axis=1)
    out -= top
    out *= y_lerp[:, None, None]
    out += top
    return out


def _nearest_indices(out_size: int, in_size: int, scale: np.float32, align_corners: bool,
                     half_pixel_centers: bool) -> np.ndarray:
    position = np.arange(out_size, dtype=F32)
    # TF's nearest-neighbour half-pixel scaler omits the -0.5 because it floors afterwards.
    source = (position + F32(0.5)) * scale if half_pixel_centers else position * scale
    index = _round_half_away(source) if align_corners else np.floor(source)
    index = np.minimum(index.astype(np.int64), in_size - 1)
    return np.maximum(index, 0) if half_pixel_centers else index


@KERNELS.define("ResizeNearestNeighbor")
def resize_nearest_neighbor(images, size, *, align_corners: bool = False, half_pixel_centers: bool = False):
    out_h, out_w, scale_h, scale_w = resize_setup(images.shape, size, align_corners, half_pixel_centers)
    rows = _nearest_indices(out_h, images.shape[1], scale_h, align_corners, half_pixel_centers)
    cols = _nearest_indices(out_w, images.shape[2], scale_w, align_corners, half_pixel_centers)
    return images[:, rows][:, :, cols]


def _crop_positions(start: np.ndarray, end: np.ndarray, crop_size: int, image_size: int) -> np.ndarray:
    """Source coordinates [boxes, crop_size] of each box's samples along one axis (float32)."""
    if crop_size == 1:
        # TensorFlow computes the single centre sample in double precision.
        centre = 0.5 * (start + end).astype(np.float64) * (image_size - 1)
        return centre.astype(F32)[:, None]
    step = (end - start) * F32(image_size - 1) / F32(crop_size - 1)
    return start[:, None] * F32(image_size - 1) + np.arange(crop_size, dtype=F32) * step[:, None]


@KERNELS.define("CropAndResize")
def crop_and_resize(image, boxes, box_ind, crop_size, *, method: str = "bilinear",
                    extrapolation_value: float = 0.0):
    """Samples outside the image take `extrapolation_value`, as TensorFlow."""
    crop_h, crop_w = crop_dims(image.shape, crop_size)
    batch, height, width = image.shape[:3]
    boxes = np.asarray(boxes, F32).reshape(-1, 4)
    box_ind = np.asarray(box_ind).reshape(-1)
    check_crop_boxes(boxes.shape[0], box_ind.shape, batch, method, box_ind, boxes)

    in_y = _crop_positions(boxes[:, 0], boxes[:, 2], crop_h, height)
    in_x = _crop_positions(boxes[:, 1], boxes[:, 3], crop_w, width)
    inside = ((in_y >= 0) & (in_y <= height - 1))[:, :, None] & ((in_x >= 0) & (in_x <= width - 1))[:, None, :]
    # Positions outside the image are clipped only to keep indexing legal; they are masked below.
    safe_y = np.clip(np.nan_to_num(in_y), 0, height - 1)
    safe_x = np.clip(np.nan_to_num(in_x), 0, width - 1)
    pixels = image.astype(F32, copy=False)
    box = box_ind[:, None, None]

    def read(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return pixels[box, rows.astype(np.int64)[:, :, None], cols.astype(np.int64)[:, None, :]]

    if method == "nearest":
        crops = read(_round_half_away(safe_y), _round_half_away(safe_x))
    else:
        top_y, bottom_y = np.floor(safe_y), np.ceil(safe_y)
        left_x, right_x = np.floor(safe_x), np.ceil(safe_x)
        y_lerp = (safe_y - top_y)[:, :, None, None]
        x_lerp = (safe_x - left_x)[:, None, :, None]
        top_left, top_right = read(top_y, left_x), read(top_y, right_x)
        bottom_left, bottom_right = read(bottom_y, left_x), read(bottom_y, right_x)
        top = top_left + (top_right - top_left) * x_lerp
        bottom = bottom_left + (bottom_right - bottom_left) * x_lerp
        crops = top + (bottom - top) * y_lerp
    return np.where(inside[..., None], crops, F32(extrapolation_value))


def _map_reflect(coord: np.ndarray, length: int) -> np.ndarray:
    """[abcd] -> [dcba|abcd|dcba], with TensorFlow's integer/float mix of operations."""
    if length <= 1:
        return np.zeros_like(coord)
    period = 2 * length
    below = coord < 0
    folded = F32(period) * np.trunc(-coord / F32(period)) + coord
    folded = np.where(folded < -length, folded + F32(period), -folded - F32(1))
    above = coord > length - 1
    wrapped = coord - F32(period) * np.trunc(coord / F32(period))
    wrapped = np.where(wrapped >= length, F32(period) - wrapped - F32(1), wrapped)
    mapped = np.where(below, folded, np.where(above, wrapped, coord))
    return np.clip(mapped, F32(0), F32(length - 1))


def _map_wrap(coord: np.ndarray, length: int) -> np.ndarray:
    """[abcd] -> [abcd|abcd|abcd]; TensorFlow divides by len-1 but shifts by len, kept as is."""
    if length <= 1:
        return np.zeros_like(coord)
    span = F32(length - 1)
    low = coord + F32(length) * (np.trunc(-coord / span) + F32(1))
    high = coord - F32(length) * np.trunc(coord / span)
    mapped = np.where(coord < 0, low, np.where(coord > length - 1, high, coord))
    return np.clip(mapped, F32(0), F32(length - 1))


_FILL_MODES = {
    "CONSTANT": lambda coord, length: coord,
    "NEAREST": lambda coord, length: np.clip(coord, F32(0), F32(length - 1)),
    "REFLECT": _map_reflect,
    "WRAP": _map_wrap,
}


@KERNELS.define("ImageProjectiveTransformV3")
def image_projective_transform_v3(images, transforms, output_shape, fill_value, *, interpolation: str,
                                  fill_mode: str = "CONSTANT", dtype: str | None = None):
    """Each output pixel (x, y) samples the input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1; the result keeps the images' dtype (integers truncate, as TF's cast)."""
    transforms = np.asarray(transforms, F32)
    out_h, out_w = projective_transform_size(images.shape, transforms.shape, output_shape, fill_mode, interpolation)
    batch, height, width, channels = images.shape
    # The fill value is first cast to the image type (C truncation and wrap-around for integers).
    fine = dtypes.numpy_dtype(dtype) if dtype else images.dtype
    fill = np.asarray(fill_value, F32).reshape(())
    fill = fill.astype(np.int64).astype(fine) if fine.kind in "iu" else fill.astype(fine)
    fill = F32(fill)

    t = transforms[:, :, None, None]  # [1 or batch, 8, 1, 1] against the [out_h, out_w] grid
    out_x = np.arange(out_w, dtype=F32)[None, :]
    out_y = np.arange(out_h, dtype=F32)[:, None]
    projection = t[:, 6] * out_x + t[:, 7] * out_y + F32(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        in_x = (t[:, 0] * out_x + t[:, 1] * out_y + t[:, 2]) / projection
        in_y = (t[:, 3] * out_x + t[:, 4] * out_y + t[:, 5]) / projection
    mapping = _FILL_MODES[fill_mode]
    x = np.broadcast_to(mapping(in_x, width), (batch, out_h, out_w))
    y = np.broadcast_to(mapping(in_y, height), (batch, out_h, out_w))
    pixels = images.astype(F32, copy=False)
    batch_index = np.arange(batch)[:, None, None]

    def read(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Pixels at integer-valued float coordinates, the fill value outside the image."""
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        safe_rows = np.where(inside, rows, 0).astype(np.int64)
        safe_cols = np.where(inside, cols, 0).astype(np.int64)
        return np.where(inside[..., None], pixels[batch_index, safe_rows, safe_cols], fill)

    if interpolation == "NEAREST":
        out = read(_round_half_away(y), _round_half_away(x))
    else:
        y_floor, x_floor = np.floor(y), np.floor(x)
        y_ceil, x_ceil = y_floor + F32(1), x_floor + F32(1)
        w_left, w_right = (x_ceil - x)[..., None], (x - x_floor)[..., None]
        value_y_floor = w_left * read(y_floor, x_floor) + w_right * read(y_floor, x_ceil)
        value_y_ceil = w_left * read(y_ceil, x_floor) + w_right * read(y_ceil, x_ceil)
        out = (y_ceil - y)[..., None] * value_y_floor + (y - y_floor)[..., None] * value_y_ceil
    out = np.where(np.broadcast_to(projection == 0, (batch, out_h, out_w))[..., None], fill, out)
    if images.dtype.kind in "iu":
        return np.trunc(out).astype(np.int64).astype(fine).astype(images.dtype)
    return out.astype(images.dtype)


# -- TF.js's image kernels (no TensorFlow op) ---------------------------------------------------------

@KERNELS.define("FlipLeftRight")
def flip_left_right(image):
    """TF.js's flipLeftRight: each row of a [batch, height, width, channels] image reversed."""
    if image.ndim != 4:
        raise ValueError(f"image must be rank 4, got shape {list(image.shape)}")
    return np.ascontiguousarray(image[:, :, ::-1])


@KERNELS.define("RotateWithOffset")
def rotate_with_offset(image, *, radians: float, fill_value=0.0, center=0.5):
    """TF.js's rotateWithOffset: output pixel (x, y) reads the image at (x, y) rotated by `radians`
    about the center, rounded to the nearest pixel (halves away from zero, as TensorFlow's nearest
    sampling); outside the image it is the fill value (cast to the image dtype)."""
    center_x, center_y, cos, sin, fills = rotation_setup(image.shape, radians, fill_value, center)
    _, height, width, _ = image.shape
    dx = np.arange(width, dtype=F32)[None, :] - center_x
    dy = np.arange(height, dtype=F32)[:, None] - center_y
    cols = _round_half_away((dx * cos - dy * sin) + center_x)
    rows = _round_half_away((dx * sin + dy * cos) + center_y)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    picked = image[:, np.where(inside, rows, 0).astype(np.int64), np.where(inside, cols, 0).astype(np.int64)]
    fill = np.asarray(fills, np.float64).astype(image.dtype)
    return np.where(inside[None, :, :, None], picked, fill)


@KERNELS.define("ResizeBilinearGrad")
def resize_bilinear_grad(grads, original_image, *, align_corners: bool = False, half_pixel_centers: bool = False):
    """Each output gradient shared among the four pixels its value was interpolated from, with the
    forward op's float32 weights."""
    if grads.ndim != 4 or original_image.ndim != 4 or grads.shape[::3] != original_image.shape[::3]:
        raise ValueError(f"grads of shape {list(grads.shape)} do not fit an image of shape "
                         f"{list(original_image.shape)}")
    _, in_h, in_w, _ = original_image.shape
    out_h, out_w, scale_h, scale_w = resize_setup(original_image.shape, grads.shape[1:3], align_corners,
                                                  half_pixel_centers)
    y_lo, y_hi, y_lerp = _bilinear_weights(out_h, in_h, scale_h, half_pixel_centers)
    x_lo, x_hi, x_lerp = _bilinear_weights(out_w, in_w, scale_w, half_pixel_centers)
    grads = grads.astype(F32, copy=False)
    out = np.zeros(original_image.shape, F32)
    for rows, row_weight in ((y_lo, 1 - y_lerp), (y_hi, y_lerp)):
        part = grads * row_weight[:, None, None]
        for cols, col_weight in ((x_lo, 1 - x_lerp), (x_hi, x_lerp)):
            np.add.at(out, (slice(None), rows[:, None], cols[None, :]), part * col_weight[:, None])
    return out.astype(original_image.dtype, copy=False)


@KERNELS.define("ResizeNearestNeighborGrad")
def resize_nearest_neighbor_grad(grads, size, *, align_corners: bool = False, half_pixel_centers: bool = False):
    """Each output gradient added onto the pixel the forward op copied it from."""
    in_h, in_w = (int(s) for s in np.asarray(size).reshape(-1)[:2])
    if grads.ndim != 4:
        raise ValueError(f"grads must be 4-dimensional, got shape {list(grads.shape)}")
    image_shape = (grads.shape[0], in_h, in_w, grads.shape[3])
    out_h, out_w, scale_h, scale_w = resize_setup(image_shape, grads.shape[1:3], align_corners, half_pixel_centers)
    rows = _nearest_indices(out_h, in_h, scale_h, align_corners, half_pixel_centers)
    cols = _nearest_indices(out_w, in_w, scale_w, align_corners, half_pixel_centers)
    out = np.zeros(image_shape, grads.dtype)
    np.add.at(out, (slice(None), rows[:, None], cols[None, :]), grads)
    return out
