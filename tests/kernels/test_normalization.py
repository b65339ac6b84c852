"""Normalization ops against tf.raw_ops: data formats, dtypes, empty tensors, NaN/Inf."""
import numpy as np
import pytest

from tests.kernels.harness import check, rand, run_engine, run_tf, tf

pytestmark = pytest.mark.tf


@pytest.mark.parametrize("axis", [np.int32(1), np.array([0, -1], np.int32), np.array([], np.int32)],
                         ids=lambda a: str(a.tolist()))
@pytest.mark.parametrize("keep_dims", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "int32", "complex64"])
def test_euclidean_norm(backend, rng, axis, keep_dims, dtype):
    """Integer norms truncate the root; the harness maps 'reduction_indices', raw_ops wants 'axis'."""
    x = rand(rng, (3, 4, 2), dtype, -5, 5, specials=True)

    def reference(x, axis):
        return tf().raw_ops.EuclideanNorm(input=x, axis=axis, keep_dims=keep_dims)

    complex_ = dtype == "complex64"  # complex stays on the CPU
    check(backend, "EuclideanNorm", [x, axis], {"keep_dims": keep_dims}, reference=reference, allow_fallback=complex_)
    empty = np.zeros((0, 3), dtype)
    check(backend, "EuclideanNorm", [empty, np.int32(0)], {"keep_dims": keep_dims}, reference=reference,
          allow_fallback=complex_)


@pytest.mark.parametrize("op", ["FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"])
@pytest.mark.parametrize("data_format,shape", [("NHWC", (2, 3, 4, 5)), ("NCHW", (2, 5, 3, 4)), ("NHWC", (0, 2, 2, 5))])
def test_fused_batch_norm_inference(backend, rng, op, data_format, shape):
    """y, batch_mean and batch_variance; TensorFlow leaves the reserve spaces unspecified."""
    x = rand(rng, shape, specials=True)
    scale, offset, mean = rand(rng, (5,)), rand(rng, (5,)), rand(rng, (5,))
    variance = rand(rng, (5,), low=0.0, high=2.0)
    check(backend, op, [x, scale, offset, mean, variance],
          {"epsilon": 1e-3, "data_format": data_format, "is_training": False}, outputs=[0, 1, 2])


@pytest.mark.parametrize("depth_radius", [0, 2, 5, 12])
def test_lrn(backend, rng, depth_radius):
    x = rand(rng, (2, 3, 4, 9), specials=True)
    check(backend, "LRN", [x], {"depth_radius": depth_radius, "bias": 1.5, "alpha": 0.3, "beta": 0.75})
    check(backend, "LRN", [x], {"depth_radius": depth_radius, "bias": 1.0, "alpha": 1.0, "beta": 0.5})
    check(backend, "LRN", [np.zeros((0, 2, 2, 3), np.float32)], {"depth_radius": depth_radius})
    check(backend, "LRN", [np.zeros((1, 2, 2, 0), np.float32)], {"depth_radius": depth_radius})


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(7,), (3, 10), (2, 3, 33), (4, 0), (0, 5)], ids=str)
def test_softmax(backend, rng, op, shape):
    x = rand(rng, shape, low=-30, high=30)
    if x.size:
        x.reshape(-1)[rng.integers(0, x.size)] = -np.inf
    check(backend, op, [x])


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_rows_with_nan_or_inf_are_nan(backend, op):
    """A row with NaN, +Inf or only -Inf is all NaN, as TensorFlow's Eigen kernel (TF_ENABLE_ONEDNN_OPTS=0)
    gives; the oneDNN kernel TensorFlow uses by default keeps the other entries of such a row at 0."""
    x = np.array([[1.0, np.nan, 3.0], [np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0]],
                 np.float32)
    (got,) = run_engine(backend, op, [x])
    assert np.isnan(got[:3]).all()
    (want,) = run_engine(backend, op, [x[3:]])
    check(backend, op, [x[3:]])
    np.testing.assert_array_equal(got[3:], want)


# -- WebGL concerns: rows longer than one reduction window or texture row, odd sizes, int32 ----------------
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_long_rows(backend, rng, op):
    """Rows of 20000 take two windowed passes for their max and their sum, and lie in a near-square
    texture; a NaN in the second window still turns its whole row NaN."""
    x = rand(rng, (3, 20000), low=-30, high=30)
    x[0, [5, 12345]] = -np.inf
    x[2, 19999] = 45.0
    check(backend, op, [x])
    x[1, 15000] = np.nan
    (got,) = run_engine(backend, op, [x])
    assert np.isnan(got[1]).all() and not np.isnan(got[[0, 2]]).any()


def test_fused_batch_norm_odd_sizes(backend, rng):
    """A 1-value scale/offset broadcasts over every channel, as the CPU kernel."""
    x = rand(rng, (2, 7, 33, 65), specials=True)
    scale, offset, mean = rand(rng, (7,)), rand(rng, (7,)), rand(rng, (7,))
    variance = rand(rng, (7,), low=0.0, high=2.0)
    for data_format in ("NCHW", "NHWC"):
        if data_format == "NHWC":
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        check(backend, "FusedBatchNormV3", [x, scale, offset, mean, variance],
              {"epsilon": 1e-3, "data_format": data_format, "is_training": False}, outputs=[0, 1, 2])


def test_lrn_many_channels(backend, rng):
    x = rand(rng, (1, 3, 5, 70), specials=True)
    check(backend, "LRN", [x], {"depth_radius": 2, "bias": 2.0, "alpha": 1e-3, "beta": 0.75})


def test_euclidean_norm_long_rows(backend, rng):
    """100000 values reduce in two passes; int32 sums of squares stay exact below 2^24."""
    def reference(x, axis):
        return tf().raw_ops.EuclideanNorm(input=x, axis=axis, keep_dims=False)

    check(backend, "EuclideanNorm", [rand(rng, (100000,), low=0.0, high=1.0), np.int32(0)], reference=reference)
    check(backend, "EuclideanNorm", [rand(rng, (2, 50000), "int32", -9, 9), np.int32(1)], reference=reference)
    check(backend, "EuclideanNorm", [rand(rng, (1000, 3), "int32", -9, 9), np.int32(0)], reference=reference)


@pytest.mark.parametrize("attrs", [{}, {"depth_radius": 2, "bias": 2.0, "alpha": 0.5, "beta": 0.75},
                                   {"depth_radius": 1, "bias": 1.0, "alpha": 1e-4, "beta": 1.0}])
def test_lrn_grad(backend, rng, attrs):
    x = rand(rng, (2, 3, 2, 7))
    y = run_tf("LRN", [x], attrs)[0]
    check(backend, "LRNGrad", [rand(rng, x.shape), x, y], attrs, rtol=1e-4, atol=1e-6)
