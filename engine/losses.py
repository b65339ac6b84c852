"""Keras 3's losses as ops on a backend, so a training step records them on its gradient tape:
each takes (y_true, y_pred) and gives one value per sample (Keras's loss functions), and `Loss`
averages those over the batch (Keras's default reduction, sum over batch size).

The formulas are Keras 3's TensorFlow backend's: probabilities are normalized (categorical) and
clipped to [epsilon, 1 - epsilon], epsilon 1e-7; from_logits runs the log-softmax / softplus form.
Keras itself, given the output of a softmax or sigmoid activation, computes crossentropies from the
activation's logits instead (its `_keras_logits`, in eager calls and in fit alike); `Loss.on_logits`
gives that loss, which train_step applies to the activation's input.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backends import Backend
from engine.errors import InputError
from engine.tensors import Tensor

EPSILON = 1e-7


class _Ops:
    """Ops on one backend; numbers become float32 scalars, lists of ints int32 tensors."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def __call__(self, op: str, *inputs: Any, **attrs: Any) -> Tensor:
        tensors = [x if isinstance(x, Tensor) else
                   Tensor(np.asarray(x, np.int32), "int32") if isinstance(x, list) else
                   Tensor(np.asarray(x, np.float32), "float32") for x in inputs]
        return self.backend.run(op, tensors, attrs)[0]

    def mean_last(self, x: Tensor) -> Tensor:
        return self("Mean", x, [x.rank - 1], keep_dims=False)

    def sum_last(self, x: Tensor) -> Tensor:
        return self("Sum", x, [x.rank - 1], keep_dims=False)


def _same_shape(y_true: Tensor, y_pred: Tensor, loss: str) -> None:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise InputError(f"{loss}: targets of shape {list(y_true.shape)} for predictions of shape "
                         f"{list(y_pred.shape)}")


def mean_squared_error(ops: _Ops, y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape(y_true, y_pred, "mean_squared_error")
    return ops.mean_last(ops("SquaredDifference", y_pred, y_true))


def mean_absolute_error(ops: _Ops, y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape(y_true, y_pred, "mean_absolute_error")
    return ops.mean_last(ops("Abs", ops("Sub", y_pred, y_true)))


def huber(ops: _Ops, y_true: Tensor, y_pred: Tensor, delta: float = 1.0) -> Tensor:
    """0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2."""
    _same_shape(y_true, y_pred, "huber")
    error = ops("Sub", y_pred, y_true)
    size = ops("Abs", error)
    quadratic = ops("Mul", ops("Square", error), 0.5)
    linear = ops("Sub", ops("Mul", size, delta), float(np.float32(0.5) * np.float32(delta) ** 2))
    return ops.mean_last(ops("SelectV2", ops("LessEqual", size, delta), quadratic, linear))


def categorical_crossentropy(ops: _Ops, y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    _same_shape(y_true, y_pred, "categorical_crossentropy")
    if from_logits:
        return ops("Neg", ops.sum_last(ops("Mul", y_true, ops("LogSoftmax", y_pred))))
    normalized = ops("RealDiv", y_pred, ops("Sum", y_pred, [y_pred.rank - 1], keep_dims=True))
    clipped = ops("ClipByValue", normalized, EPSILON, 1 - EPSILON)
    return ops("Neg", ops.sum_last(ops("Mul", y_true, ops("Log", clipped))))


def sparse_categorical_crossentropy(ops: _Ops, y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    """Integer class targets (a trailing axis of 1 squeezed); probabilities are clipped, not
    normalized, then log-softmaxed, as Keras's TensorFlow backend does."""
    labels = y_true.numpy()
    if labels.ndim == y_pred.rank and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise InputError(f"sparse_categorical_crossentropy: targets of shape {list(labels.shape)} for predictions "
                         f"of shape {list(y_pred.shape)}")
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise InputError(f"sparse_categorical_crossentropy: class ids must be in [0, {classes}), got "
                         f"{labels.min()} to {labels.max()}")
    one_hot = Tensor(np.eye(classes, dtype=np.float32)[labels.astype(np.int64)], "float32")
    logits = y_pred if from_logits else ops("Log", ops("ClipByValue", y_pred, EPSILON, 1 - EPSILON))
    return ops("Neg", ops.sum_last(ops("Mul", one_hot, ops("LogSoftmax", logits))))


def binary_crossentropy(ops: _Ops, y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    """Averaged over the last axis; from logits max(x, 0) - x z + log(1 + exp(-|x|)), else
    -(z log p + (1 - z) log(1 - p)) with p clipped."""
    _same_shape(y_true, y_pred, "binary_crossentropy")
    if from_logits:
        x = y_pred
        softplus = ops("Log1p", ops("Exp", ops("Neg", ops("Abs", x))))
        per_element = ops("AddV2", ops("Sub", ops("Relu", x), ops("Mul", x, y_true)), softplus)
    else:
        p = ops("ClipByValue", y_pred, EPSILON, 1 - EPSILON)
        positive = ops("Mul", y_true, ops("Log", p))
        negative = ops("Mul", ops("Sub", 1.0, y_true), ops("Log", ops("Sub", 1.0, p)))
        per_element = ops("Neg", ops("AddV2", positive, negative))
    return ops.mean_last(per_element)


_FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error, "huber": huber,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
}

def _same_rank(ops: _Ops, y_true: np.ndarray, y_pred: Tensor) -> tuple[np.ndarray, Tensor]:
    """Keras's squeeze_or_expand_to_same_rank: ranks one apart with a trailing axis of 1 on the
    larger are made equal, expanding a rank-1 side, else squeezing that axis (targets of shape
    [n] for a [n, 1] output, say)."""
    rank = y_pred.rank
    if y_true.ndim == rank + 1 and y_true.shape[-1:] == (1,):
        if rank == 1:
            return y_true, ops("Reshape", y_pred, [*y_pred.shape, 1])
        return y_true[..., 0], y_pred
    if rank == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            return y_true[:, None], y_pred
        return y_true, ops("Reshape", y_pred, list(y_pred.shape[:-1]))
    return y_true, y_pred


CROSSENTROPIES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy")


class Loss:
    """A loss function with its settings (from_logits, delta), reduced to the mean over the batch:
    `Loss("sparse_categorical_crossentropy", from_logits=True)(y_true, y_pred, backend)`."""

    def __init__(self, name: str, **settings: Any):
        if name not in _FUNCTIONS:
            raise InputError(f"unknown loss {name!r}; known: {', '.join(sorted(_FUNCTIONS))}")
        self.name, self.settings, self.function = name, settings, _FUNCTIONS[name]

    def on_logits(self) -> Loss | None:
        """This crossentropy computed from logits, as Keras computes it from a softmax's or sigmoid's
        input (its `_keras_logits`); None for the other losses and those already from logits."""
        if self.name not in CROSSENTROPIES or self.settings.get("from_logits"):
            return None
        return Loss(self.name, **{**self.settings, "from_logits": True})

    def __call__(self, y_true: Any, y_pred: Tensor, backend: Backend) -> Tensor:
        ops = _Ops(backend)
        dtype = "int32" if self.function is sparse_categorical_crossentropy else "float32"
        targets = np.asarray(y_true, dtype)   # targets are data: no gradient flows to them
        if self.function is not sparse_categorical_crossentropy:
            targets, y_pred = _same_rank(ops, targets, y_pred)
        per_sample = self.function(ops, Tensor(targets, dtype), y_pred, **self.settings)
        return ops("Mean", per_sample, list(range(per_sample.rank)), keep_dims=False)
