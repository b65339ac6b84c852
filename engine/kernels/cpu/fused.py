"""The epilogue of fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul).

TensorFlow's remapper and TF.js's converter fold a bias (or an inference batch norm) and an
activation into the contraction; `fused_ops` names them in order and the extra inputs (`args`)
feed them in the same order, e.g. ['BiasAdd', 'Prelu'] with args [bias, alpha].

Everything works in place on the contraction's result: on big activations each fresh temporary
costs more than the arithmetic.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.kernels.cpu.basic_math import ACTIVATION_FUNCTIONS, scale_negatives_into


def apply_fused_ops(y: np.ndarray, fused_ops: Sequence[str], args: Sequence[np.ndarray], *,
                    epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2, channel_axis: int = -1) -> np.ndarray:
    """Applies `fused_ops` to `y` in place (y must be a fresh array the caller owns), each op taking
    its args from `args` in turn; returns y.

    1-D args of more than one value are per-channel; `channel_axis` says where the channels of `y`
    are (1 for NCHW), as TF.js aligns bias and PReLU weights.
    """
    if not isinstance(fused_ops, (list, tuple)) or not all(isinstance(op, str) for op in fused_ops):
        raise ValueError(f"fused_ops must be a list of op names, got {fused_ops!r:.60}")
    remaining = list(args)
    result, rows = y, _as_rows(y, channel_axis, args)
    if rows is not None:  # work on whole rows of pixels, the per-channel args repeated along them
        y, remaining = rows
    else:
        remaining = [_per_channel(a, y.ndim, channel_axis) for a in remaining]

    def take(count: int) -> list[np.ndarray]:
        if len(remaining) < count:
            raise ValueError(f"fused_ops {list(fused_ops)} need more than {len(args)} extra inputs")
        taken = remaining[:count]
        del remaining[:count]
        return taken

    for op in fused_ops:
        name = op.lower()
        if name in ("noop", ""):
            continue
        if name in ("biasadd", "add"):  # 'Add': TF's residual fusion, a whole tensor after the bias
            (addend,) = take(1)
            np.add(y, addend, out=y)
        elif name == "fusedbatchnorm":
            scale, offset, mean, variance = take(4)
            np.subtract(y, mean, out=y)
            np.multiply(y, scale / np.sqrt(variance + np.asarray(epsilon, variance.dtype)), out=y)
            np.add(y, offset, out=y)
        elif name == "prelu":
            (weights,) = take(1)
            apply_fused_activation(y, name, prelu=weights, out=y)
        else:
            apply_fused_activation(y, name, alpha=leakyrelu_alpha, out=y)
    return result


def _as_rows(y: np.ndarray, channel_axis: int, args: Sequence[np.ndarray]):
    """(y viewed as rows of (width, channels), args aligned with those rows), or None.

    A per-channel vector broadcast over channels-last pixels makes numpy loop over one pixel's
    channels at a time; repeated along a row of pixels, every elementwise pass runs over long
    contiguous rows instead (twice as fast for 96 channels). Only for a contiguous channels-last y
    of rank 3 or more whose args are all per-channel vectors, scalars, or of y's shape."""
    if y.ndim < 3 or y.size == 0 or channel_axis % y.ndim != y.ndim - 1 or not y.flags.c_contiguous:
        return None
    width, channels = y.shape[-2], y.shape[-1]
    rows = y.reshape(-1, width * channels)
    aligned = []
    for arg in args:
        arg = np.asarray(arg)
        if arg.size == 1 and arg.ndim <= 1:
            aligned.append(arg)
        elif arg.ndim == 1 and arg.size == channels:
            aligned.append(np.tile(arg, width))
        elif arg.shape == y.shape:
            aligned.append(arg.reshape(rows.shape))
        else:
            return None
    return rows, aligned


def apply_fused_activation(x: np.ndarray, name: str, alpha: float | None = None,
                           prelu: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """One of the activations TF and TF.js fuse, by name in any case ('Relu6', 'leakyrelu', ...),
    written into `out` (may be x itself; a new array if None) by the standalone kernels' own
    functions (cpu/basic_math.py). `alpha` is LeakyRelu's slope (default 0.2), `prelu` PReLU's
    weights, broadcastable against x."""
    name = name.lower()
    if out is None:
        out = np.empty_like(x)
    if name in ("linear", "identity"):
        np.copyto(out, x)
        return out
    if name == "leakyrelu":
        return scale_negatives_into(x, 0.2 if alpha is None else alpha, out)
    if name == "prelu":
        if prelu is None:
            raise ValueError("Prelu needs its weights")
        return scale_negatives_into(x, prelu, out)
    if name not in ACTIVATION_FUNCTIONS:
        raise ValueError(f"unsupported fused activation {name!r}")
    return ACTIVATION_FUNCTIONS[name](x, out=out)


def _per_channel(arg: np.ndarray, ndim: int, channel_axis: int) -> np.ndarray:
    """A 1-D per-channel arg reshaped to broadcast along `channel_axis` of an ndim-D result."""
    axis = channel_axis % ndim
    if arg.ndim != 1 or arg.size == 1 or axis == ndim - 1:
        return arg
    return arg.reshape((-1,) + (1,) * (ndim - 1 - axis))
