"""Normalization ops (op_list/normalization.json): norms, inference batch norm, LRN and softmax, as TensorFlow."""
from __future__ import annotations

import math

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import reduction_axes

KERNELS = KernelTable()


@KERNELS.define("EuclideanNorm")
def euclidean_norm(x, axis, *, keep_dims: bool = False):
    """sqrt(sum |x|^2) in the input's dtype: complex inputs give a real value stored as complex,
    integer ones the truncated root of the (wrapping) integer sum, as TensorFlow's reducer."""
    axes = reduction_axes(axis, x.ndim)
    if x.dtype.kind == "c":
        squares = np.square(x.real) + np.square(x.imag)
    else:
        squares = np.multiply(x, x, dtype=x.dtype)
    total = np.sum(squares, axis=axes, dtype=squares.dtype, keepdims=keep_dims)
    if x.dtype.kind in "iu":
        return np.floor(np.sqrt(total.astype(np.float64))).astype(x.dtype)
    return np.sqrt(total).astype(x.dtype)


@KERNELS.define("FusedBatchNorm", "FusedBatchNormV2")
def fused_batch_norm(x, scale, offset, mean, variance, *, epsilon: float = 1e-4, data_format: str = "NHWC"):
    """Inference batch norm (TF.js ignores is_training, and so does this). Besides y, TensorFlow
    (is_training=False) passes the given mean and variance through as batch_mean/batch_variance, NaN
    for an empty batch. Its reserve spaces are unspecified (oneDNN copies mean and variance there,
    Eigen leaves them uninitialized); these are the copies."""
    y = _normalize(x, scale, offset, mean, variance, epsilon, data_format)
    if x.size == 0:
        undefined = np.full_like(mean, np.nan)
        return y, undefined, undefined, mean, variance
    return y, mean, variance, mean, variance


@KERNELS.define("FusedBatchNormV3")
def fused_batch_norm_v3(x, scale, offset, mean, variance, *, epsilon: float = 1e-4, data_format: str = "NHWC"):
    """As FusedBatchNorm, plus reserve_space_3, which inference leaves empty."""
    return fused_batch_norm(x, scale, offset, mean, variance, epsilon=epsilon, data_format=data_format) + \
        (np.zeros((0,), np.float32),)


def _normalize(x, scale, offset, mean, variance, epsilon: float, data_format: str) -> np.ndarray:
    channels_first = data_format.startswith("NC") and x.ndim > 2
    per_channel = (-1,) + (1,) * (x.ndim - 2) if channels_first else (-1,)
    multiplier = (scale / np.sqrt(variance + np.float32(epsilon))).reshape(per_channel)
    y = (x - mean.reshape(per_channel)) * multiplier + offset.reshape(per_channel)
    return y.astype(x.dtype)


@KERNELS.define("LRN")
def lrn(x, *, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0, beta: float = 0.5):
    """x / (bias + alpha * sum of squares over channels d-r..d+r) ** beta, along the last axis.
    Like TensorFlow, the window sums contract the squares with a 0/1 band matrix (one BLAS call),
    so a non-finite channel turns every channel of its pixel outside its window NaN too (Inf * 0)."""
    if x.ndim != 4:
        raise ValueError(f"LRN: input must be 4-D, got shape {list(x.shape)}")
    channels = np.arange(x.shape[-1])
    band = (np.abs(channels[:, None] - channels[None, :]) <= depth_radius).astype(x.dtype)
    pixels = np.square(x).reshape(math.prod(x.shape[:-1]), len(channels))
    window_sums = np.matmul(pixels, band).reshape(x.shape)
    scale = np.float32(bias) + np.float32(alpha) * window_sums
    return (x * np.power(scale, np.float32(-beta))).astype(x.dtype)


@KERNELS.define("LRNGrad")
def lrn_grad(input_grads, input_image, output_image, *, depth_radius: int = 5, bias: float = 1.0,
             alpha: float = 1.0, beta: float = 0.5):
    """dx_j = dy_j norm_j^-beta - 2 alpha beta x_j sum over k whose window holds j of dy_k y_k / norm_k,
    norm_k the window sum LRN scaled channel k by (TensorFlow's LRNGrad, from the saved output)."""
    if not input_grads.shape == input_image.shape == output_image.shape or input_image.ndim != 4:
        raise ValueError(f"LRNGrad: grads, image and output must be 4-D of one shape, got {list(input_grads.shape)}, "
                         f"{list(input_image.shape)} and {list(output_image.shape)}")
    channels = np.arange(input_image.shape[-1])
    band = (np.abs(channels[:, None] - channels[None, :]) <= depth_radius).astype(np.float32)
    pixels = math.prod(input_image.shape[:-1])

    def window_sums(values: np.ndarray) -> np.ndarray:
        return np.matmul(values.reshape(pixels, len(channels)), band).reshape(input_image.shape)
    norm = np.float32(bias) + np.float32(alpha) * window_sums(np.square(input_image))
    spread = window_sums(input_grads * output_image / norm)
    return (input_grads * np.power(norm, np.float32(-beta))
            - np.float32(2 * alpha * beta) * input_image * spread).astype(input_image.dtype)


@KERNELS.define("Softmax")
def softmax(logits):
    """Over the last axis, shifted by the row max for stability. A row holding NaN or +Inf (or only
    -Inf) is all NaN, as TensorFlow's Eigen kernel gives (its oneDNN kernel, the default on x86,
    leaves the row's finite entries at 0 instead)."""
    exp = np.exp(_shifted(logits))
    return exp / np.sum(exp, axis=-1, keepdims=True)


@KERNELS.define("LogSoftmax")
def log_softmax(logits):
    shifted = _shifted(logits)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _shifted(logits: np.ndarray) -> np.ndarray:
    return logits - np.max(logits, axis=-1, keepdims=True, initial=-np.inf)
