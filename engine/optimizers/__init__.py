"""Keras's optimizers (SGD with momentum and Nesterov, Adam, RMSprop, Adagrad) over a layers model's
weights held as tensors on its backend: `apply_gradients(weights, grads)` returns updated weights,
computed with ops where the weights are (GL programs on webgl), in Keras 3's order and float32."""
from __future__ import annotations

from engine.errors import InputError
from engine.optimizers.base import Optimizer
from engine.optimizers.rules import SGD, Adagrad, Adam, RMSprop

_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from its Keras name ('sgd', 'adam', 'rmsprop', 'adagrad': Keras's defaults), or as given."""
    if isinstance(identifier, Optimizer):
        return identifier
    cls = _BY_NAME.get(str(identifier).lower())
    if cls is None:
        raise InputError(f"unknown optimizer {identifier!r}; known: {', '.join(_BY_NAME)}")
    return cls()


__all__ = ["SGD", "Adagrad", "Adam", "Optimizer", "RMSprop", "get"]
