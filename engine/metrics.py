"""The metrics compile takes, by Keras's names, as sums over samples that fit and evaluate divide
by the sample count (Keras's Mean of per-sample values): the accuracies, computed from the
predictions on the host, and the losses (engine/losses.py, run on the CPU)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.backends import get_backend
from engine.errors import InputError
from engine.losses import Loss
from engine.tensors import Tensor

Metric = Callable[[np.ndarray, np.ndarray], np.ndarray]   # (y_true, y_pred) -> a value per sample


def _sparse_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    labels = y_true[..., 0] if y_true.ndim == y_pred.ndim else y_true
    return (np.argmax(y_pred, axis=-1) == labels.astype(np.int64)).astype(np.float32)


def _categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    return (np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)).astype(np.float32)


def _binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:   # targets [n] for outputs [n, 1]
        y_true = y_true[..., None]
    return np.mean((y_true == (y_pred > 0.5)).astype(np.float32), axis=-1)


ACCURACIES = {"sparse_categorical_accuracy": _sparse_accuracy, "categorical_accuracy": _categorical_accuracy,
              "binary_accuracy": _binary_accuracy}


def _accuracy_for(y_true: np.ndarray, y_pred: np.ndarray) -> Metric:
    """Keras's choice for 'accuracy': binary for one output unit, sparse for class ids, else categorical."""
    if y_pred.shape[-1] == 1:
        return _binary_accuracy
    if y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
        return _sparse_accuracy
    return _categorical_accuracy


def _loss_metric(name: str) -> Metric:
    loss, cpu = Loss(name), get_backend("cpu")

    def per_sample(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        value = loss(y_true, Tensor(np.asarray(y_pred, np.float32), "float32"), cpu).numpy()
        return np.full(len(y_pred), value, np.float32)   # the batch mean, weighted by its size
    return per_sample


def resolve(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> Metric:
    """The metric `name` for targets and predictions shaped like these."""
    if not isinstance(name, str):
        raise InputError(f"metrics are given by name, got {name!r}")
    if name.lower() in ("accuracy", "acc"):
        return _accuracy_for(y_true, y_pred)
    if name in ACCURACIES:
        return ACCURACIES[name]
    try:
        return _loss_metric(name)
    except InputError:
        raise InputError(f"unknown metric {name!r}; known: accuracy, {', '.join(ACCURACIES)} and the losses") from None
