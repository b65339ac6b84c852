"""_FusedSeparableConv2D: a depthwise convolution and the 1x1 convolution that alone reads it, fused
into one node by engine/graph/fuse_separable.py for the CPU backend (MobileNets' separable
convolutions, and the depthwise-then-projection half of their inverted residual blocks).

The compiled kernel (engine.kernels.cpu.numba_parallel.separable) computes a chunk of the depthwise
output rows into a buffer that stays in cache, then multiplies it by the 1x1 filter: the depthwise
result never goes to memory whole, and the executor runs one step instead of two. Where it does not
fit (no OpenMP kernels here, another dtype, a filter that is not 1x1, an epilogue the compiled
kernels do not take), the two convolutions run as the unfused nodes would, through their kernels.

Inputs: the depthwise node's (x, its filter, its fused args), then the 1x1 node's filter and fused
args; `num_depthwise_inputs` says where the first part ends. Attrs: the depthwise node's, prefixed
`depthwise_`, and the 1x1 node's (stride 1, no explicit padding: engine/graph/fuse_separable.py).
"""
from __future__ import annotations

import numpy as np

from engine.kernels.cpu import compiled, convolution, openmp
from engine.kernels.cpu.fused import Fused
from engine.kernels.registry import KernelTable

KERNELS = KernelTable()
OP = "_FusedSeparableConv2D"


@KERNELS.define(OP)
def fused_separable_conv2d(x, depthwise_filter, *args, num_depthwise_inputs: int, depthwise_strides,
                           depthwise_padding: str, depthwise_dilations=None, depthwise_explicit_paddings=(),
                           depthwise_fused_ops=(), depthwise_epsilon: float = 1e-4,
                           depthwise_leakyrelu_alpha: float = 0.2, padding: str = "VALID", dilations=None,
                           fused_ops=(), epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2):
    split = num_depthwise_inputs - 2
    if not 0 <= split < len(args):
        raise ValueError(f"{OP}: num_depthwise_inputs {num_depthwise_inputs} does not fit {len(args) + 2} inputs")
    depthwise_args, pointwise_filter, pointwise_args = args[:split], args[split], args[split + 1:]
    depthwise_attrs = {"strides": depthwise_strides, "padding": depthwise_padding, "dilations": depthwise_dilations,
                       "explicit_paddings": depthwise_explicit_paddings}
    pointwise_attrs = {"strides": [1, 1, 1, 1], "padding": padding, "dilations": dilations}
    out = _compiled(x, depthwise_filter, depthwise_attrs,
                    Fused(depthwise_fused_ops, depthwise_args, depthwise_epsilon, depthwise_leakyrelu_alpha)
                    if depthwise_fused_ops else None,
                    pointwise_filter, Fused(fused_ops, pointwise_args, epsilon, leakyrelu_alpha) if fused_ops else None)
    if out is not None:
        return out
    if depthwise_fused_ops:
        hidden = convolution.fused_depthwise_conv2d(x, depthwise_filter, *depthwise_args, **depthwise_attrs,
                                                    fused_ops=depthwise_fused_ops, epsilon=depthwise_epsilon,
                                                    leakyrelu_alpha=depthwise_leakyrelu_alpha)
    else:
        hidden = convolution.depthwise_conv2d(x, depthwise_filter, **depthwise_attrs)
    if fused_ops:
        return convolution.fused_conv2d(hidden, pointwise_filter, *pointwise_args, **pointwise_attrs,
                                        fused_ops=fused_ops, epsilon=epsilon, leakyrelu_alpha=leakyrelu_alpha)
    return convolution.conv2d(hidden, pointwise_filter, **pointwise_attrs)


def _compiled(x: np.ndarray, depthwise_filter: np.ndarray, depthwise_attrs: dict,
              depthwise_fused: Fused | None, pointwise_filter: np.ndarray, fused: Fused | None) -> np.ndarray | None:
    """Both convolutions through openmp.separable, or None where they do not fit it."""
    f32 = np.dtype(np.float32)
    if x.dtype != f32 or depthwise_filter.dtype != f32 or pointwise_filter.dtype != f32 or x.ndim != 4 \
            or depthwise_filter.ndim != 4 or depthwise_filter.shape[3] != 1 or pointwise_filter.ndim != 4 \
            or pointwise_filter.shape[:2] != (1, 1) or not openmp.available():
        return None
    info = convolution.cached_conv_info(x.shape, depthwise_filter.shape, **depthwise_attrs, data_format="NHWC",
                                        depthwise=True)
    channels, out_channels = info.out_channels, pointwise_filter.shape[3]
    if pointwise_filter.shape[2] != channels or out_channels == 0 or info.is_empty or 0 in x.shape or \
            any(b or a for b, a in info.pads) and not np.isfinite(depthwise_filter).all():
        return None  # (the unfused kernels raise for mismatched channels, or skip infinite weights' padding)
    depthwise_epilogue = compiled.Epilogue.of(depthwise_fused, channels, f32)
    epilogue = compiled.Epilogue.of(fused, out_channels, f32)
    if depthwise_epilogue is None or epilogue is None:
        return None
    out = np.empty((info.batch, *info.out_size, out_channels), f32)
    depthwise_weights = np.ascontiguousarray(depthwise_filter.reshape(*info.window, channels))
    pointwise_weights = np.ascontiguousarray(pointwise_filter.reshape(channels, out_channels))
    if not openmp.separable(np.ascontiguousarray(x), depthwise_weights, pointwise_weights, out, info,
                            depthwise_epilogue, epilogue):
        return None
    return out
