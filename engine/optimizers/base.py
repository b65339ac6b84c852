"""Optimizer: updates weights held as tensors by running the update's arithmetic as ops on their
backend (on webgl, GL programs on the weights' textures), so weights and slots stay where they are."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.backends import Backend, get_backend
from engine.errors import InputError
from engine.tensors import Tensor


class Arithmetic:
    """Elementwise float32 arithmetic on tensors and Python numbers, as ops on one backend; each number
    becomes one float32 scalar tensor, made once (so webgl uploads it once)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._scalars: dict[float, Tensor] = {}

    def _operand(self, value: Any) -> Tensor:
        if isinstance(value, Tensor):
            return value
        key = float(np.float32(value))
        if key not in self._scalars:
            self._scalars[key] = Tensor(np.asarray(key, np.float32), "float32")
        return self._scalars[key]

    def _run(self, op: str, *operands: Any) -> Tensor:
        return self.backend.run(op, [self._operand(x) for x in operands], {})[0]

    def add(self, a, b): return self._run("AddV2", a, b)
    def sub(self, a, b): return self._run("Sub", a, b)
    def mul(self, a, b): return self._run("Mul", a, b)
    def div(self, a, b): return self._run("RealDiv", a, b)
    def maximum(self, a, b): return self._run("Maximum", a, b)
    def sqrt(self, a): return self._run("Sqrt", a)
    def square(self, a): return self._run("Square", a)

    def full_like(self, like: Tensor, value: float) -> Tensor:
        return Tensor(np.full(like.shape, value, np.float32), "float32")


class Optimizer:
    """Keras's optimizer, over weights by name: `apply_gradients(weights, grads)` returns the updated
    weights (a new dict; weights without a gradient are kept as they are). Slots (momentums, ...) are
    per weight name, made at a weight's first update; `iterations` counts the calls."""

    slots: tuple[tuple[str, float], ...] = ()   # (slot name, initial value)

    def __init__(self, learning_rate: float):
        if not learning_rate > 0:
            raise InputError(f"learning_rate must be positive, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.iterations = 0
        self._slots: dict[str, dict[str, Tensor]] = {}
        self._arithmetic: dict[int, Arithmetic] = {}

    def apply_gradients(self, weights: Mapping[str, Tensor], grads: Mapping[str, Tensor | None],
                        backend: Backend | str | None = None) -> dict[str, Tensor]:
        backend = backend if isinstance(backend, Backend) else get_backend(backend)
        math = self._arithmetic.setdefault(id(backend), Arithmetic(backend))
        updated = dict(weights)
        for name, grad in grads.items():
            if grad is None:
                continue
            if name not in weights:
                raise InputError(f"a gradient for {name!r}, which is not among the weights")
            weight = weights[name]
            if tuple(grad.shape) != tuple(weight.shape):
                raise InputError(f"the gradient of {name!r} has shape {list(grad.shape)}, the weight "
                                 f"{list(weight.shape)}")
            slots = self._slots.get(name)
            if slots is None:
                slots = {slot: math.full_like(weight, initial) for slot, initial in self.slots}
            updated[name], self._slots[name] = self.update(math, weight, grad, slots)
        self.iterations += 1
        return updated

    def update(self, math: Arithmetic, weight: Tensor, grad: Tensor,
               slots: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """(the new weight, the new slots): Keras's update_step for one weight."""
        raise NotImplementedError
