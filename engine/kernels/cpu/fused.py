"""The epilogue of fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul).

TensorFlow's remapper and TF.js's converter fold a bias (or an inference batch norm) and an
activation into the contraction; `fused_ops` names them in order and the extra inputs (`args`)
feed them in the same order, e.g. ['BiasAdd', 'Prelu'] with args [bias, alpha].
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def apply_fused_ops(y: np.ndarray, fused_ops: Sequence[str], args: Sequence[np.ndarray], *,
                    epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2, channel_axis: int = -1) -> np.ndarray:
    """Applies `fused_ops` to the contraction result `y`, each taking its args from `args` in turn.

    1-D args of more than one value are per-channel; `channel_axis` says where the channels of `y`
    are (1 for NCHW), as TF.js aligns bias and PReLU weights.
    """
    remaining = list(args)

    def take(count: int) -> list[np.ndarray]:
        if len(remaining) < count:
            raise ValueError(f"fused_ops {list(fused_ops)} need more than {len(args)} extra inputs")
        taken = [_per_channel(a, y.ndim, channel_axis) for a in remaining[:count]]
        del remaining[:count]
        return taken

    for op in fused_ops:
        name = op.lower()
        if name in ("noop", "linear", ""):
            continue
        if name == "biasadd":
            (bias,) = take(1)
            y = np.add(y, bias, dtype=y.dtype)
        elif name == "add":  # TF's residual fusion: a whole tensor added after the bias
            (addend,) = take(1)
            y = np.add(y, addend, dtype=y.dtype)
        elif name == "fusedbatchnorm":
            scale, offset, mean, variance = take(4)
            factor = scale / np.sqrt(variance + np.asarray(epsilon, variance.dtype))
            y = np.add((y - mean) * factor, offset, dtype=y.dtype)
        elif name == "prelu":
            (alpha,) = take(1)
            y = apply_fused_activation(y, name, prelu=alpha)
        else:
            y = apply_fused_activation(y, name, alpha=leakyrelu_alpha)
    return y


def apply_fused_activation(x: np.ndarray, name: str, alpha: float | None = None,
                           prelu: np.ndarray | None = None) -> np.ndarray:
    """One of the activations TF and TF.js fuse, by name in any case ('Relu6', 'leakyrelu', ...);
    `alpha` is LeakyRelu's slope, `prelu` PReLU's weights (broadcastable against x)."""
    name = name.lower()
    dtype = x.dtype
    if name in ("linear", "identity"):
        return x
    if name == "relu":
        return np.maximum(x, np.zeros((), dtype))
    if name == "relu6":
        return np.minimum(np.maximum(x, np.zeros((), dtype)), np.asarray(6, dtype))
    if name == "elu":
        return np.where(x < 0, np.expm1(x), x)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "leakyrelu":
        slope = np.asarray(0.2 if alpha is None else alpha, dtype)
        return np.where(x < 0, x * slope, x)
    if name == "prelu":
        if prelu is None:
            raise ValueError("Prelu needs its weights")
        return np.where(x < 0, x * prelu.astype(dtype, copy=False), x)
    raise ValueError(f"unsupported fused activation {name!r}")


def _per_channel(arg: np.ndarray, ndim: int, channel_axis: int) -> np.ndarray:
    """A 1-D per-channel arg reshaped to broadcast along `channel_axis` of an ndim-D result."""
    axis = channel_axis % ndim
    if arg.ndim != 1 or arg.size == 1 or axis == ndim - 1:
        return arg
    return arg.reshape((-1,) + (1,) * (ndim - 1 - axis))
