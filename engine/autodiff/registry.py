"""Gradient definitions, keyed by TensorFlow op name (one per op, as kernels are per op and backend).

A family module defines into its own `GRADIENTS = GradientTable()` with `@GRADIENTS.define("Op")`;
engine/autodiff/register_all.py registers every family's table. A definition takes a `Grad` (the
recorded op and the gradients of its outputs) and returns one gradient per input: a Tensor, or None
for an input nothing flows back to (integer shapes and axes, or one that needs no gradient).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.autodiff.grad import Grad

GradientFn = Callable[["Grad"], Sequence[Any]]
_GRADIENTS: dict[str, GradientFn] = {}


class GradientTable:
    def __init__(self) -> None:
        self._gradients: dict[str, GradientFn] = {}

    def define(self, *ops: str) -> Callable[[GradientFn], GradientFn]:
        def decorate(fn: GradientFn) -> GradientFn:
            for op in ops:
                if op in self._gradients:
                    raise ValueError(f"{op} has two gradients in one table")
                self._gradients[op] = fn
            return fn
        return decorate

    def items(self) -> list[tuple[str, GradientFn]]:
        return list(self._gradients.items())


def register(table: GradientTable) -> None:
    for op, fn in table.items():
        if op in _GRADIENTS:
            raise ValueError(f"{op} has two gradients")
        _GRADIENTS[op] = fn


def gradient_for(op: str) -> GradientFn | None:
    return _GRADIENTS.get(op)


def differentiable_ops() -> set[str]:
    return set(_GRADIENTS)
