"""The epilogue of fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul).

TensorFlow's remapper and TF.js's converter fold a bias (or an inference batch norm) and an
activation into the contraction; `fused_ops` names them in order and the extra inputs (`args`)
feed them in the same order, e.g. ['BiasAdd', 'Prelu'] with args [bias, alpha].

Everything works in place on the contraction's result: on big activations each fresh temporary
costs more than the arithmetic. A channels-last result is worked on in rows of pixels, per-channel
args repeated along a row (numpy then loops over whole rows rather than one pixel's channels, twice
as fast for 96 channels), and a convolution hands each chunk of output rows to the epilogue as soon
as it has computed it, while the chunk is still in cache (`EpilogueRows`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import numpy as np

from engine.kernels.cpu.basic_math import ACTIVATION_FUNCTIONS, scale_negatives_into

_ARG_COUNTS = {"biasadd": 1, "add": 1, "fusedbatchnorm": 4, "prelu": 1}
_OPS = {"biasadd", "add", "fusedbatchnorm", "prelu", "leakyrelu", "linear", "identity"}


def fused_steps(fused_ops, args: Sequence[np.ndarray]) -> list[tuple[str, list[np.ndarray]]]:
    """(lower-case op name, its args) per op of `fused_ops`, NoOps dropped; ValueError when the names
    are not a list of strings or the args run short."""
    if not isinstance(fused_ops, (list, tuple)) or not all(isinstance(op, str) for op in fused_ops):
        raise ValueError(f"fused_ops must be a list of op names, got {fused_ops!r:.60}")
    steps, taken = [], 0
    for op in fused_ops:
        name = op.lower()
        if name in ("noop", ""):
            continue
        if name not in _OPS and name not in ACTIVATION_FUNCTIONS:
            raise ValueError(f"unsupported fused activation {name!r}")
        count = _ARG_COUNTS.get(name, 0)
        if taken + count > len(args):
            raise ValueError(f"fused_ops {list(fused_ops)} need more than {len(args)} extra inputs")
        steps.append((name, [a if isinstance(a, np.ndarray) else np.asarray(a) for a in args[taken:taken + count]]))
        taken += count
    return steps


def _run_steps(y: np.ndarray, steps: list[tuple[str, list[np.ndarray]]], epsilon: float,
               leakyrelu_alpha: float) -> None:
    for name, step_args in steps:
        if name in ("biasadd", "add"):  # 'Add': TF's residual fusion, a whole tensor after the bias
            np.add(y, step_args[0], out=y)
        elif name == "fusedbatchnorm":
            scale, offset, mean, variance = step_args
            np.subtract(y, mean, out=y)
            np.multiply(y, scale / np.sqrt(variance + np.asarray(epsilon, variance.dtype)), out=y)
            np.add(y, offset, out=y)
        elif name == "prelu":
            apply_fused_activation(y, name, prelu=step_args[0], out=y)
        else:
            apply_fused_activation(y, name, alpha=leakyrelu_alpha, out=y)


@dataclass(frozen=True)
class Fused:
    """A fused op's epilogue as its kernel received it: the op names, their args and attrs."""
    ops: Sequence[str]
    args: Sequence[np.ndarray]
    epsilon: float = 1e-4
    leakyrelu_alpha: float = 0.2

    def rows(self, y: np.ndarray) -> EpilogueRows | None:
        """The epilogue on y's rows (EpilogueRows.of), to apply chunk by chunk; None: use `apply`."""
        return EpilogueRows.of(y, self.ops, self.args, epsilon=self.epsilon, leakyrelu_alpha=self.leakyrelu_alpha)

    def apply(self, y: np.ndarray, channel_axis: int = -1) -> np.ndarray:
        return apply_fused_ops(y, self.ops, self.args, epsilon=self.epsilon, leakyrelu_alpha=self.leakyrelu_alpha,
                               channel_axis=channel_axis)


class EpilogueRows:
    """The fused ops on a channels-last result y (batch, rows, ..., channels), as a function of a
    range of rows: `epilogue(start, stop)` applies them in place to y[:, start:stop]."""

    def __init__(self, y: np.ndarray, steps: list, epsilon: float, leakyrelu_alpha: float, args: list):
        self.rows = y.reshape(y.shape[0], y.shape[1], -1)
        self.steps, self.epsilon, self.leakyrelu_alpha = steps, epsilon, leakyrelu_alpha
        self.work = y.size * max(1, len(steps))
        self._full = {id(a) for a in args}  # args of y's own shape, cut into rows like y

    @classmethod
    def of(cls, y: np.ndarray, fused_ops, args: Sequence[np.ndarray], *, epsilon: float = 1e-4,
           leakyrelu_alpha: float = 0.2) -> EpilogueRows | None:
        """None where the rows do not fit: y not contiguous channels-last of rank 3 or more, or an arg
        other than a per-channel vector, a scalar or one of y's shape. ValueError for bad fused_ops."""
        steps = fused_steps(fused_ops, args)
        if y.ndim < 3 or y.size == 0 or not y.flags.c_contiguous:
            return None
        channels, repeat = y.shape[-1], prod(y.shape[2:-1])
        full, aligned = [], []
        for name, step_args in steps:
            row_args = []
            for arg in step_args:
                if arg.size == 1 and arg.ndim <= 1:
                    row_args.append(arg)
                elif arg.ndim == 1 and arg.size == channels:
                    row_args.append(np.broadcast_to(arg, (repeat, channels)).reshape(-1) if repeat > 1 else arg)
                elif arg.shape == y.shape:
                    row_args.append(arg.reshape(y.shape[0], y.shape[1], -1))
                    full.append(row_args[-1])
                else:
                    return None
            aligned.append((name, row_args))
        return cls(y, aligned, epsilon, leakyrelu_alpha, full)

    def __call__(self, start: int, stop: int) -> None:
        if start == 0 and stop == self.rows.shape[1]:
            _run_steps(self.rows, self.steps, self.epsilon, self.leakyrelu_alpha)
            return
        steps = [(name, [a[:, start:stop] if id(a) in self._full else a for a in step_args])
                 for name, step_args in self.steps]
        _run_steps(self.rows[:, start:stop], steps, self.epsilon, self.leakyrelu_alpha)


def apply_fused_ops(y: np.ndarray, fused_ops: Sequence[str], args: Sequence[np.ndarray], *,
                    epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2, channel_axis: int = -1) -> np.ndarray:
    """Applies `fused_ops` to `y` in place (y must be a fresh array the caller owns), each op taking
    its args from `args` in turn; returns y.

    1-D args of more than one value are per-channel; `channel_axis` says where the channels of `y`
    are (1 for NCHW), as TF.js aligns bias and PReLU weights.
    """
    if channel_axis % max(y.ndim, 1) == y.ndim - 1:
        rows = EpilogueRows.of(y, fused_ops, args, epsilon=epsilon, leakyrelu_alpha=leakyrelu_alpha)
        if rows is not None:
            rows(0, y.shape[1])
            return y
    steps = [(name, [_per_channel(a, y.ndim, channel_axis) for a in step_args])
             for name, step_args in fused_steps(fused_ops, args)]
    _run_steps(y, steps, epsilon, leakyrelu_alpha)
    return y


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
