"""Image ops against tf.raw_ops: resize modes, crop boxes outside the image, projective fill modes."""
import numpy as np
import pytest

import engine
from tests.kernels.harness import assert_rejects, check, i32, rand, run_engine, tf

pytestmark = pytest.mark.tf

RESIZE_MODES = [(False, False), (True, False), (False, True)]  # (align_corners, half_pixel_centers)
RESIZE_SHAPES = [((1, 4, 5, 3), (7, 9)), ((2, 9, 7, 2), (4, 3)), ((1, 3, 3, 1), (3, 3)), ((2, 5, 4, 1), (1, 1)),
                 ((1, 1, 6, 2), (5, 2)), ((0, 4, 4, 3), (2, 2))]


def _image(rng, shape, dtype):
    return rand(rng, shape, dtype, 0, 255) if dtype != "float32" else rand(rng, shape)


@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
@pytest.mark.parametrize("shapes", RESIZE_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "uint8", "int32"])
def test_resize_bilinear(backend, rng, align_corners, half_pixel_centers, shapes, dtype):
    image_shape, size = shapes
    check(backend, "ResizeBilinear", [_image(rng, image_shape, dtype), np.array(size, np.int32)],
          {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}, rtol=1e-5)


@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
def test_resize_bilinear_to_the_same_size_keeps_tensorflows_bits(backend, rng, align_corners, half_pixel_centers):
    """A resize to the image's own size is TensorFlow's copy of the image, not a lerp of each pixel
    with itself (which turns -0 into +0 and infinities into NaN)."""
    image = rand(rng, (2, 5, 4, 3), specials=True)
    image[0, 1, 1] = [-0.0, 0.0, np.inf]
    attrs = {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}
    (got,) = run_engine(backend, "ResizeBilinear", [image, np.array([5, 4], np.int32)], attrs)
    want = tf().raw_ops.ResizeBilinear(images=image, size=[5, 4], **attrs).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    np.testing.assert_array_equal(got[finite].view(np.int32), want[finite].view(np.int32))


@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
@pytest.mark.parametrize("shapes", RESIZE_SHAPES + [((1, 10, 7, 1), (4, 14)), ((1, 7, 10, 2), (14, 4))], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "uint8", "int32"])
def test_resize_nearest_neighbor(backend, rng, align_corners, half_pixel_centers, shapes, dtype):
    image_shape, size = shapes
    check(backend, "ResizeNearestNeighbor", [_image(rng, image_shape, dtype), np.array(size, np.int32)],
          {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers})


@pytest.mark.parametrize("op", ["ResizeBilinear", "ResizeNearestNeighbor"])
def test_resize_rejects_bad_arguments(backend, op):
    image = np.ones((1, 2, 2, 1), np.float32)
    with pytest.raises(Exception, match="align_corners must be False"):
        run_engine(backend, op, [image, np.array([3, 3], np.int32)],
                   {"align_corners": True, "half_pixel_centers": True})
    with pytest.raises(Exception, match="output dimensions must be positive"):
        run_engine(backend, op, [image, np.array([0, 3], np.int32)])


def _boxes(rng, count):
    """Boxes reaching outside [0, 1] (extrapolated samples), some flipped (y1 > y2)."""
    return rng.uniform(-0.3, 1.3, (count, 4)).astype(np.float32)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("crop_size", [(3, 4), (1, 1), (5, 2), (1, 3)], ids=str)
@pytest.mark.parametrize("extrapolation_value", [0.0, -1.5])
def test_crop_and_resize(backend, rng, method, crop_size, extrapolation_value):
    image = rand(rng, (3, 6, 7, 2))
    boxes = np.concatenate([_boxes(rng, 6), [[0, 0, 1, 1], [0.25, 0.25, 0.75, 0.75]]]).astype(np.float32)
    box_ind = rng.integers(0, 3, boxes.shape[0]).astype(np.int32)
    check(backend, "CropAndResize", [image, boxes, box_ind, np.array(crop_size, np.int32)],
          {"method": method, "extrapolation_value": extrapolation_value}, rtol=1e-5)


def test_crop_and_resize_int_image_and_no_boxes(backend, rng):
    image = rand(rng, (2, 5, 5, 3), "uint8", 0, 255)
    check(backend, "CropAndResize", [image, _boxes(rng, 4), np.array([0, 1, 1, 0], np.int32),
                                     np.array([4, 4], np.int32)], rtol=1e-5)
    check(backend, "CropAndResize", [image, np.zeros((0, 4), np.float32), np.zeros(0, np.int32),
                                     np.array([2, 3], np.int32)])


def test_crop_and_resize_rejects_bad_box_index(backend):
    with pytest.raises(Exception, match="box_index"):
        run_engine(backend, "CropAndResize", [np.ones((1, 2, 2, 1), np.float32), np.zeros((1, 4), np.float32),
                                              np.array([1], np.int32), np.array([2, 2], np.int32)])


def _transforms(rng, count):
    """Rotations, scalings, shears and translations with a mild projective part."""
    angle = rng.uniform(-0.8, 0.8, count)
    scale = rng.uniform(0.6, 1.5, count)
    t = np.zeros((count, 8), np.float32)
    t[:, 0], t[:, 1] = scale * np.cos(angle), -scale * np.sin(angle)
    t[:, 3], t[:, 4] = scale * np.sin(angle), scale * np.cos(angle)
    t[:, 2], t[:, 5] = rng.uniform(-4, 4, count), rng.uniform(-4, 4, count)
    t[:, 6:] = rng.uniform(-0.02, 0.02, (count, 2))
    return t


@pytest.mark.parametrize("interpolation", ["NEAREST", "BILINEAR"])
@pytest.mark.parametrize("fill_mode", ["CONSTANT", "REFLECT", "WRAP", "NEAREST"])
@pytest.mark.parametrize("per_image", [True, False])
def test_image_projective_transform(backend, rng, interpolation, fill_mode, per_image):
    images = rand(rng, (2, 7, 9, 3))
    transforms = _transforms(rng, 2 if per_image else 1)
    check(backend, "ImageProjectiveTransformV3",
          [images, transforms, np.array([8, 11], np.int32), np.float32(0.75)],
          {"interpolation": interpolation, "fill_mode": fill_mode, "dtype": "float32"}, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("interpolation", ["NEAREST", "BILINEAR"])
@pytest.mark.parametrize("dtype", ["uint8", "int32"])
def test_image_projective_transform_int(backend, rng, interpolation, dtype):
    """Integer images keep their dtype; the fill value is truncated to it first."""
    images = rand(rng, (1, 6, 6, 2), dtype, 0, 255)
    transforms = np.array([[1, 0, 0.5, 0, 1, -1.5, 0, 0], [0, -1, 5, 1, 0, 0.25, 0, 0]], np.float32)
    for transform in transforms:
        check(backend, "ImageProjectiveTransformV3",
              [images, transform[None], np.array([6, 6], np.int32), np.float32(7.7)],
              {"interpolation": interpolation, "fill_mode": "CONSTANT", "dtype": dtype})


def test_image_projective_transform_identity_and_zero_projection(backend, rng):
    images = rand(rng, (1, 4, 4, 1))
    identity = np.array([[1, 0, 0, 0, 1, 0, 0, 0]], np.float32)
    out = check(backend, "ImageProjectiveTransformV3", [images, identity, np.array([4, 4], np.int32),
                                                        np.float32(0)], {"interpolation": "BILINEAR"})[0]
    np.testing.assert_array_equal(out, images)
    # x = 1 makes the projection 1 - x = 0: TensorFlow fills that column.
    singular = np.array([[1, 0, 0, 0, 1, 0, -1, 0]], np.float32)
    check(backend, "ImageProjectiveTransformV3", [images, singular, np.array([4, 4], np.int32), np.float32(9)],
          {"interpolation": "NEAREST", "dtype": "float32"})


# -- GL concerns: texture layouts, exact sampling positions, special values, GPU-resident inputs -------

GL_RESIZE_SHAPES = [((1, 7, 5, 1), (23, 17)),      # odd upscale
                    ((2, 31, 29, 3), (9, 13)),     # odd downscale
                    ((1, 13, 5, 2), (4, 19)),      # down in one axis, up in the other
                    ((1, 20000, 2, 1), (17001, 3))]  # more rows than a texture: near-square layouts


def _indexed(shape, dtype="float32"):
    """Pixels holding their own flat index: a pixel read from the wrong place shows."""
    return np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)


@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
@pytest.mark.parametrize("shapes", GL_RESIZE_SHAPES, ids=str)
def test_resize_nearest_reads_exact_pixels(backend, align_corners, half_pixel_centers, shapes):
    image_shape, size = shapes
    got = check(backend, "ResizeNearestNeighbor", [_indexed(image_shape, "int32"), np.array(size, np.int32)],
                {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers})[0]
    assert got.dtype == np.int32


@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
@pytest.mark.parametrize("shapes", GL_RESIZE_SHAPES, ids=str)
def test_resize_bilinear_layouts(backend, rng, align_corners, half_pixel_centers, shapes):
    image_shape, size = shapes
    check(backend, "ResizeBilinear", [rand(rng, image_shape), np.array(size, np.int32)],
          {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}, rtol=1e-5)


@pytest.mark.parametrize("align_corners,half_pixel_centers", RESIZE_MODES)
@pytest.mark.parametrize("op", ["ResizeBilinear", "ResizeNearestNeighbor"])
def test_resize_nan_inf_and_large_ints(backend, rng, op, align_corners, half_pixel_centers):
    """NaN and +-Inf spread through the lerps as in TensorFlow (Inf - Inf, 0 * Inf); int32 pixels up
    to 2**24 (exact in a float texture) are read back exactly by nearest."""
    attrs = {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}
    image = rand(rng, (2, 6, 7, 2), specials=True)
    image.reshape(-1)[[5, 40, 41, 90]] = [np.nan, np.inf, np.inf, -np.inf]
    check(backend, op, [image, np.array([11, 4], np.int32)], attrs, rtol=1e-5)
    ints = rng.integers(-2**24, 2**24 + 1, (1, 5, 6, 3)).astype(np.int32)
    check(backend, op, [ints, np.array([7, 4], np.int32)], attrs, rtol=1e-6)


def test_resize_scales_keep_float32_rounding(backend):
    """Sizes whose scales are inexact in float32 (1/3, 7/9, ...): positions land near .5 and integer
    boundaries, where a float64 or differently ordered computation reads other pixels."""
    for (in_h, in_w), (out_h, out_w) in [((3, 7), (9, 27)), ((9, 10), (7, 3)), ((37, 11), (111, 33)),
                                         ((2, 49), (300, 3))]:
        image = _indexed((1, in_h, in_w, 1), "int32")
        for align_corners, half_pixel_centers in RESIZE_MODES:
            attrs = {"align_corners": align_corners, "half_pixel_centers": half_pixel_centers}
            check(backend, "ResizeNearestNeighbor", [image, np.array([out_h, out_w], np.int32)], attrs)
            check(backend, "ResizeBilinear", [image, np.array([out_h, out_w], np.int32)], attrs, rtol=1e-6)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
def test_crop_and_resize_gl_cases(backend, rng, method):
    """Eighth-aligned boxes (sample positions on .5 exactly), flipped boxes, NaN/Inf pixels, int32
    images, a layout of more rows than a texture holds."""
    attrs = {"method": method, "extrapolation_value": 2.5}
    image = _indexed((2, 9, 13, 2))
    boxes = np.concatenate([rng.integers(-3, 12, (8, 4)) / 8, _boxes(rng, 4),
                            [[0, 0, 1, 1], [1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5], [2, -1, 3, -2]]])
    boxes = boxes.astype(np.float32)
    box_ind = rng.integers(0, 2, len(boxes)).astype(np.int32)
    for crop_size in [(5, 9), (1, 7), (17, 1)]:
        got = check(backend, "CropAndResize", [image, boxes, box_ind, np.array(crop_size, np.int32)], attrs,
                    rtol=1e-6)
        if method == "nearest":
            np.testing.assert_array_equal(got[0], run_tf_crop(image, boxes, box_ind, crop_size, attrs))
    check(backend, "CropAndResize", [rand(rng, (2, 5, 6, 3), specials=True), boxes, box_ind,
                                     np.array([6, 5], np.int32)], attrs, rtol=1e-5)
    check(backend, "CropAndResize", [rand(rng, (1, 7, 4, 1), "int32", -2**24, 2**24), boxes[:12],
                                     np.zeros(12, np.int32), np.array([5, 3], np.int32)], attrs, rtol=1e-6)
    check(backend, "CropAndResize", [rand(rng, (1, 20000, 2, 1)), boxes[:3], np.zeros(3, np.int32),
                                     np.array([6000, 3], np.int32)], attrs, rtol=1e-5)


def test_crop_and_resize_nearest_rounds_half_away(backend):
    """Positions 0.49999997 (floor(x + 0.5) rounds the sum up to 1 in float32), 0.5, 1.5, 2.5 and
    3.5: C's roundf."""
    image = _indexed((1, 5, 5, 1))
    y = np.float32([np.nextafter(np.float32(0.5), np.float32(0)), 0.5, 1.5, 2.5, 3.5, 4.0])
    boxes = np.repeat(y[:, None] / np.float32(4), 4, axis=1)  # crop size 1: position (y1 + y2) / 2 * 4
    boxes[:, 1] = boxes[:, 3] = boxes[::-1, 0]
    got = check(backend, "CropAndResize", [image, boxes, np.zeros(len(y), np.int32), np.array([1, 1], np.int32)],
                {"method": "nearest"})[0]
    rows, cols = np.array([0, 1, 2, 3, 4, 4]), np.array([4, 4, 3, 2, 1, 0])
    np.testing.assert_array_equal(got.reshape(-1), rows * 5 + cols)


def test_crop_and_resize_rejects_non_finite_boxes(webgl):
    """TensorFlow's check, made on CPU-resident boxes (GPU-resident ones are not read back)."""
    for box in ([np.nan, 0, 1, 1], [0, 0, np.inf, 1]):
        with pytest.raises(Exception, match="not finite"):
            run_engine(webgl, "CropAndResize", [np.ones((1, 2, 2, 1), np.float32), np.array([box], np.float32),
                                                np.array([0], np.int32), np.array([2, 2], np.int32)])


def run_tf_crop(image, boxes, box_ind, crop_size, attrs):
    from tests.kernels.harness import run_tf
    return run_tf("CropAndResize", [image, boxes, box_ind, np.array(crop_size, np.int32)], attrs)[0]


def _near_singular(rng, count):
    """Transforms whose projection c0 x + c1 y + 1 nears 0 inside the output: coordinates blow up, so a
    last-bit difference in the projection (another summation order) moves the sampled pixel."""
    t = _transforms(rng, count)
    t[:, 2], t[:, 5] = rng.uniform(-40, 40, count), rng.uniform(-40, 40, count)
    t[:, 6:] = rng.uniform(-0.06, 0.06, (count, 2))
    return t


@pytest.mark.parametrize("fill_mode", ["CONSTANT", "REFLECT", "WRAP", "NEAREST"])
def test_image_projective_transform_exact_positions(backend, rng, fill_mode):
    images = _indexed((2, 13, 17, 1))
    for transforms in (_near_singular(rng, 2), np.round(_transforms(rng, 2) * 4) / 4):  # quarter steps: .5 ties
        transforms = transforms.astype(np.float32)
        for interpolation in ("NEAREST", "BILINEAR"):
            got = check(backend, "ImageProjectiveTransformV3",
                        [images, transforms, np.array([29, 31], np.int32), np.float32(-9)],
                        {"interpolation": interpolation, "fill_mode": fill_mode, "dtype": "float32"},
                        rtol=1e-5, atol=1e-4)[0]
            if interpolation == "NEAREST":
                want = _tf_transform(images, transforms, fill_mode)
                np.testing.assert_array_equal(got, want)


def _tf_transform(images, transforms, fill_mode):
    from tests.kernels.harness import run_tf
    return run_tf("ImageProjectiveTransformV3", [images, transforms, np.array([29, 31], np.int32), np.float32(-9)],
                  {"interpolation": "NEAREST", "fill_mode": fill_mode, "dtype": "float32"})[0]


@pytest.mark.parametrize("interpolation", ["NEAREST", "BILINEAR"])
def test_image_projective_transform_specials_and_sizes(backend, rng, interpolation):
    """NaN/Inf pixels, odd and one-pixel images (REFLECT/WRAP of length 1), a large output, and
    integer images with fill values that truncate and wrap (uint8) like TensorFlow's casts."""
    for fill_mode in ("CONSTANT", "REFLECT", "WRAP", "NEAREST"):
        attrs = {"interpolation": interpolation, "fill_mode": fill_mode, "dtype": "float32"}
        check(backend, "ImageProjectiveTransformV3", [rand(rng, (1, 5, 7, 2), specials=True), _transforms(rng, 1),
                                                      np.array([9, 6], np.int32), np.float32(np.inf)],
              attrs, rtol=1e-5, atol=1e-5)
        check(backend, "ImageProjectiveTransformV3", [rand(rng, (2, 1, 1, 3)), _transforms(rng, 2),
                                                      np.array([3, 4], np.int32), np.float32(0.5)],
              attrs, rtol=1e-5, atol=1e-5)
    check(backend, "ImageProjectiveTransformV3", [rand(rng, (1, 300, 70, 1)), _transforms(rng, 1),
                                                  np.array([20000, 2], np.int32), np.float32(1)],
          {"interpolation": interpolation, "fill_mode": "REFLECT", "dtype": "float32"}, rtol=1e-5, atol=1e-5)
    shift = np.array([[1.3, 0.2, -2.5, -0.1, 0.9, 1.5, 0.01, 0]], np.float32)
    for dtype, low, high, fill in [("uint8", 0, 255, 300.7), ("uint8", 0, 255, -3.9), ("int32", -2**24, 2**24, -3.9),
                                   ("int64", -2**20, 2**20, 1e6 + 0.5)]:
        check(backend, "ImageProjectiveTransformV3", [rand(rng, (1, 6, 5, 2), dtype, low, high), shift,
                                                      np.array([7, 6], np.int32), np.float32(fill)],
              {"interpolation": interpolation, "fill_mode": "CONSTANT", "dtype": dtype})


def test_image_ops_read_gpu_resident_boxes_and_transforms(webgl, rng):
    """Boxes, box indices and transforms made on the GPU are sampled there (no download); a GPU-resident
    box index outside [0, batch) is not checked (no readback) and gives NaN for that box."""
    import engine
    from tests.kernels.harness import run_tf, to_tensor
    impl = engine.get_backend(webgl)

    def on_gpu(values):
        tensor = to_tensor(values)
        impl.texture_of(tensor)
        return impl.run("AddV2", [tensor, to_tensor(np.zeros((), values.dtype))])[0]

    image, boxes = to_tensor(rand(rng, (2, 6, 7, 3))), _boxes(rng, 5)
    impl.texture_of(image)
    box_ind = np.array([0, 1, 1, 0, 1], np.int32)
    gpu_boxes, gpu_ind = on_gpu(boxes), on_gpu(box_ind)
    transforms = _transforms(rng, 2)
    gpu_transforms = on_gpu(transforms)
    downloads = impl.stats.downloads
    crops = impl.run("CropAndResize", [image, gpu_boxes, gpu_ind, to_tensor(np.array([4, 3], np.int32))],
                     {"method": "bilinear"})[0]
    moved = impl.run("ImageProjectiveTransformV3", [image, gpu_transforms, to_tensor(np.array([5, 8], np.int32)),
                                                    to_tensor(np.float32(0))], {"interpolation": "BILINEAR"})[0]
    bad = impl.run("CropAndResize", [image, gpu_boxes, on_gpu(np.array([0, 2, 1, -1, 1], np.int32)),
                                     to_tensor(np.array([4, 3], np.int32))])[0]
    assert impl.stats.downloads == downloads
    assert "CropAndResize" not in impl.stats.cpu_fallbacks
    assert "ImageProjectiveTransformV3" not in impl.stats.cpu_fallbacks
    want = run_tf("CropAndResize", [image.numpy(), boxes, box_ind, np.array([4, 3], np.int32)])[0]
    np.testing.assert_allclose(crops.numpy(), want, rtol=1e-5, atol=1e-6)
    want = run_tf("ImageProjectiveTransformV3", [image.numpy(), transforms, np.array([5, 8], np.int32),
                                                 np.float32(0)], {"interpolation": "BILINEAR", "dtype": "float32"})[0]
    np.testing.assert_allclose(moved.numpy(), want, rtol=1e-5, atol=1e-5)
    got = bad.numpy()
    assert np.isnan(got[[1, 3]]).all() and not np.isnan(got[[0, 2, 4]]).any()


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 1, 1, 1), (1, 4, 0, 2), (0, 3, 3, 1)], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_flip_left_right(backend, rng, shape, dtype):
    """TF.js's FlipLeftRight against TensorFlow's flip_left_right (a reverse along the width, which
    also takes images with no pixels)."""
    image = rand(rng, shape, dtype, 0, 255, specials=True) if dtype == "int32" else rand(rng, shape, specials=True)
    check(backend, "FlipLeftRight", [image], reference=lambda x: tf().reverse(x, axis=[2]))


def _rotation_reference(radians: float, center, fill: float):
    """TF.js's rotateWithOffset as TensorFlow's nearest projective transform: output (x, y) reads
    (x - cx) cos - (y - cy) sin + cx, (x - cx) sin + (y - cy) cos + cy."""
    def reference(image):
        height, width = image.shape[1:3]
        cx, cy = width * np.float64(center[0]), height * np.float64(center[-1])
        cos, sin = np.cos(radians), np.sin(radians)
        transform = np.array([[cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0, 0]],
                             np.float32)
        return tf().raw_ops.ImageProjectiveTransformV3(
            images=image, transforms=transform, output_shape=np.int32([height, width]),
            fill_value=np.float32(fill), interpolation="NEAREST", fill_mode="CONSTANT")
    return reference


@pytest.mark.parametrize("shape", [(2, 7, 9, 3), (1, 6, 6, 1), (1, 1, 5, 2), (0, 3, 3, 2)], ids=str)
@pytest.mark.parametrize("radians,center", [(0.3, [0.5]), (-2.1, [0.25, 0.7]), (4.0, [0.0])], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_rotate_with_offset(backend, rng, shape, radians, center, dtype):
    """Angles and centres that put no source position on a half-pixel, where float32 rounding in
    another order than TensorFlow's transform could tip a pixel."""
    image = _image(rng, shape, dtype)
    attrs = {"radians": radians, "fill_value": 7.0, "center": center if len(center) == 2 else center[0]}
    check(backend, "RotateWithOffset", [image], attrs, reference=_rotation_reference(radians, center, 7.0))


def test_rotate_with_offset_fill_per_channel_and_specials(backend, rng):
    """A fill of [r, g, b] with 255 for alpha (TF.js's CPU kernel; cast to int32 for int images); NaN and
    infinities are moved like any value."""
    image = rand(rng, (2, 6, 8, 4), specials=True)
    got = run_engine(backend, "RotateWithOffset", [image], {"radians": 1.1, "fill_value": [1.5, -2.0, 3.0]})[0]
    outside = np.isnan(_rotation_reference(1.1, [0.5], np.nan)(np.where(np.isnan(image), 0, image)).numpy())
    assert outside.any() and (~outside).any()
    fills = np.broadcast_to(np.float32([1.5, -2.0, 3.0, 255.0]), image.shape)
    np.testing.assert_array_equal(got[outside], fills[outside])
    inside = _rotation_reference(1.1, [0.5], 0.0)(image).numpy()
    np.testing.assert_array_equal(got[~outside], inside[~outside])
    int_image = np.nan_to_num(image, posinf=9, neginf=-9).astype(np.int32)
    ints = run_engine(backend, "RotateWithOffset", [int_image], {"radians": 1.1, "fill_value": [1.5, -2.7, 3]})[0]
    np.testing.assert_array_equal(ints[outside], np.broadcast_to(np.int32([1, -2, 3, 255]), image.shape)[outside])


def test_rotate_with_offset_half_pixel_positions_agree_across_backends(rng):
    """A quarter turn about the centre of an image of odd width and even height puts sources on half
    pixels: both backends round them alike (half away from zero, in the same float32 order)."""
    image = rand(rng, (1, 6, 7, 2))
    attrs = {"radians": float(np.pi / 2), "fill_value": -1.0}
    results = [run_engine(b, "RotateWithOffset", [image], attrs)[0] for b in engine.available_backends()]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_image_ops_of_tfjs_reject_other_ranks(backend):
    for op, attrs in (("FlipLeftRight", {}), ("RotateWithOffset", {"radians": 1.0})):
        assert_rejects(backend, op, [np.zeros((3, 4, 2), np.float32)], attrs, match="rank 4")
    assert_rejects(backend, "RotateWithOffset", [np.zeros((1, 3, 4, 2), np.float32)],
                   {"radians": 1.0, "fill_value": [1.0, 2.0]}, match="fill_value")


def test_rotate_with_offset_by_no_angle_fills_everything(backend, rng):
    """A NaN or infinite angle reads no pixel (TF.js: every comparison with NaN is false)."""
    image = rand(rng, (1, 4, 5, 2))
    for radians in (float("nan"), float("inf")):
        got = run_engine(backend, "RotateWithOffset", [image], {"radians": radians, "fill_value": 3.0})[0]
        np.testing.assert_array_equal(got, np.full(image.shape, 3.0, np.float32))


@pytest.mark.parametrize("mode", ["half", "corners", "plain"])
@pytest.mark.parametrize("image, resized", [((2, 3, 4, 2), (7, 5)), ((1, 7, 6, 3), (3, 4)), ((1, 1, 1, 2), (3, 2)),
                                           ((1, 4, 5, 2), (16, 20)), ((1, 20, 16, 1), (5, 4))])
def test_resize_grads(backend, rng, mode, image, resized):
    attrs = {"align_corners": mode == "corners", "half_pixel_centers": mode == "half"}
    grads = rand(rng, (image[0], *resized, image[3]))
    check(backend, "ResizeBilinearGrad", [grads, rand(rng, image)], attrs, rtol=1e-5, atol=1e-6)
    check(backend, "ResizeNearestNeighborGrad", [grads, i32(image[1:3])], attrs, rtol=1e-5, atol=1e-6)
