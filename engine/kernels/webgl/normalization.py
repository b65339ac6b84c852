"""GL kernels of the normalization family: Softmax and LogSoftmax (max, sum-of-exp and normalize
passes, as TF.js), inference FusedBatchNorm(V2/V3), LRN and EuclideanNorm (a windowed reduction)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import reduction_axes
from engine.kernels.webgl.common import empty, ints, require_gl_dtypes, reshaped, view
from engine.kernels.webgl.reduction import MAX, PRE_EXP_SHIFTED, SUM, reduce_rows, reduce_tensor
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()



@KERNELS.define("EuclideanNorm")
def euclidean_norm(backend, x, axis, *, keep_dims: bool = False):
    """sqrt of the sum of squares; integer norms take the floor of the root, as TensorFlow."""
    if x.dtype not in ("float32", "int32"):
        raise CPUFallback(f"{x.dtype} norms run on the CPU")
    axes = reduction_axes(np.array(ints(axis), np.int64), x.rank)
    return reduce_tensor(backend, x, axes, "EuclideanNorm", keep_dims)


# -- Softmax / LogSoftmax ----------------------------------------------------------------------------------
def softmax_tensor(backend: WebGLBackend, logits: Tensor, log: bool) -> Tensor:
    """Over the last axis: the row max, the sum of exp(x - max) (both windowed reductions), then
    one elementwise pass."""
    require_gl_dtypes(logits)
    if logits.size == 0:
        return empty(logits.shape, "float32")
    n = logits.shape[-1]
    rows = view(backend, logits, (logits.size // n, n))
    row_max = reduce_rows(backend, rows, MAX, "float32")
    row_sum = reduce_rows(backend, rows, SUM, "float32", pre=PRE_EXP_SHIFTED, shift=row_max)
    program = Program("log_softmax" if log else "softmax", ("normalization/softmax.glsl",), ("A", "M", "S"),
                      {"LOG_SOFTMAX": log}, shape_uniforms=True)
    result = backend.run_program(program, [rows, row_max, row_sum], rows.shape, "float32")
    row_max.dispose()
    row_sum.dispose()
    return reshaped(result, logits.shape)


@KERNELS.define("Softmax")
def softmax(backend, logits):
    return softmax_tensor(backend, logits, log=False)


@KERNELS.define("LogSoftmax")
def log_softmax(backend, logits):
    return softmax_tensor(backend, logits, log=True)


# -- FusedBatchNorm ----------------------------------------------------------------------------------------
def _batch_norm(backend, x, scale, offset, mean, variance, epsilon: float, data_format: str) -> list:
    """Inference batch norm: y on the GPU; batch_mean/batch_variance and the reserve spaces are the
    given mean and variance (NaN for an empty batch), as the CPU kernel."""
    require_gl_dtypes(x, scale, offset, mean, variance)
    if x.size == 0:
        y = empty(x.shape, x.dtype)
        undefined = [Tensor(np.full(mean.shape, np.nan, np.float32), "float32") for _ in range(2)]
        return [y, *undefined, mean, variance]
    channels_first = data_format.startswith("NC") and x.rank > 2
    channels = x.shape[1] if channels_first else x.shape[-1]
    inner = x.size // (x.shape[0] * channels) if channels_first else 1
    params = []
    for t in (scale, offset, mean, variance):
        if t.size not in (1, channels):
            raise ValueError(f"batch norm parameters of shape {list(t.shape)} for {channels} channels")
        params.append(view(backend, t, (1, t.size, 1)))
    x3 = view(backend, x, (x.size // (channels * inner), channels, inner))
    program = Program("batch_norm", ("normalization/batch_norm.glsl",), ("A", "Scale", "Offset", "Mean", "Variance"),
                      uniforms={"epsilon": float(epsilon)})
    y = reshaped(backend.run_program(program, [x3, *params], x3.shape, x.dtype), x.shape)
    return [y, mean, variance, mean, variance]


@KERNELS.define("FusedBatchNorm", "FusedBatchNormV2")
def fused_batch_norm(backend, x, scale, offset, mean, variance, *, epsilon: float = 1e-4,
                     data_format: str = "NHWC"):
    return _batch_norm(backend, x, scale, offset, mean, variance, epsilon, data_format)


@KERNELS.define("FusedBatchNormV3")
def fused_batch_norm_v3(backend, x, scale, offset, mean, variance, *, epsilon: float = 1e-4,
                        data_format: str = "NHWC"):
    """As FusedBatchNorm, plus reserve_space_3, which inference leaves empty."""
    return _batch_norm(backend, x, scale, offset, mean, variance, epsilon, data_format) + \
        [empty((0,), "float32")]


# -- LRN ---------------------------------------------------------------------------------------------------
@KERNELS.define("LRN")
def lrn(backend, x, *, depth_radius: int = 5, bias: float = 1.0, alpha: float = 1.0, beta: float = 0.5):
    """Along the last axis; each output loops over all the pixel's channels (see the shader for why)."""
    require_gl_dtypes(x)
    if x.size == 0:
        return empty(x.shape, x.dtype)
    channels = x.shape[-1]
    program = Program("lrn", ("normalization/lrn.glsl",), ("A",), {"CHANNELS": channels},
                      {"depthRadius": int(depth_radius), "lrnBias": float(bias), "lrnAlpha": float(alpha),
                       "lrnBeta": float(beta)})
    pixels = view(backend, x, (x.size // channels, channels))
    return reshaped(backend.run_program(program, [pixels], pixels.shape, x.dtype), x.shape)


@KERNELS.define("LRNGrad")
def lrn_grad(backend, input_grads, input_image, output_image, *, depth_radius: int = 5, bias: float = 1.0,
             alpha: float = 1.0, beta: float = 0.5):
    """Each gradient loops over its window and theirs (shaders/normalization/lrn_grad.glsl); a
    non-positive bias (norms that may not be positive) runs the CPU kernel."""
    require_gl_dtypes(input_grads, input_image, output_image)
    if bias <= 0 or alpha < 0 or input_image.dtype != "float32":
        raise CPUFallback("LRNGrad with norms that may not be positive")
    if not input_grads.shape == input_image.shape == output_image.shape or input_image.rank != 4:
        raise ValueError(f"LRNGrad: grads, image and output must be 4-D of one shape, got {list(input_grads.shape)}, "
                         f"{list(input_image.shape)} and {list(output_image.shape)}")
    if input_image.size == 0:
        return empty(input_image.shape, "float32")
    channels = input_image.shape[-1]
    window = min(2 * int(depth_radius) + 1, channels)
    program = Program("lrn_grad", ("normalization/lrn_grad.glsl",), ("Dy", "X", "Y"), {"CHANNELS": channels},
                      {"depthRadius": int(depth_radius), "lrnBias": float(bias), "lrnAlpha": float(alpha),
                       "lrnBeta": float(beta)}, loop_iterations=window * (window + 1) + window)
    pixels = (input_image.size // channels, channels)
    tensors = [view(backend, t, pixels) for t in (input_grads, input_image, output_image)]
    return reshaped(backend.run_program(program, tensors, pixels, "float32"), input_image.shape)
