"""Image ops against tf.raw_ops: resize modes, crop boxes outside the image, projective fill modes."""
import numpy as np
import pytest

from tests.kernels.harness import check, rand, run_engine

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
