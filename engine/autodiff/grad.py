"""What a gradient definition works with: the recorded op, its outputs' gradients, and ops to run."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.tape import Record
from engine.tensors import Tensor


def int_tensor(values: Any) -> Tensor:
    return Tensor(np.asarray(values, np.int32), "int32")


def float_tensor(values: Any) -> Tensor:
    return Tensor(np.asarray(values, np.float32), "float32")


class Grad:
    """One recorded op seen from its gradient: `x` (first input), `inputs`, `y` (first output),
    `outputs`, `attrs`, `dy` (the first output's gradient) and `dys`; `wants(i)` says whether input i
    needs a gradient (whether it depends on what is differentiated), so costly ones can be skipped."""

    def __init__(self, record: Record, dys: Sequence[Tensor | None], wanted: Sequence[bool]):
        self.record, self.dys, self._wanted = record, list(dys), list(wanted)
        self.backend = record.backend

    op = property(lambda self: self.record.op)
    inputs = property(lambda self: self.record.inputs)
    outputs = property(lambda self: self.record.outputs)
    attrs = property(lambda self: self.record.attrs)
    x = property(lambda self: self.record.inputs[0])
    y = property(lambda self: self.record.outputs[0])
    dy = property(lambda self: self.dys[0])

    def wants(self, index: int) -> bool:
        return self._wanted[index]

    def run(self, op: str, *inputs: Any, **attrs: Any) -> Tensor:
        """Op `op`'s first output, on the backend the recorded op ran on."""
        return self.run_all(op, *inputs, **attrs)[0]

    def run_all(self, op: str, *inputs: Any, **attrs: Any) -> list[Tensor]:
        tensors = [x if isinstance(x, Tensor) else int_tensor(x) if _is_ints(x) else float_tensor(x)
                   for x in inputs]
        return self.backend.run(op, tensors, attrs)

    def unbroadcast(self, grad: Tensor, shape: Sequence[int]) -> Tensor:
        """`grad` (of a broadcast result) summed over the axes broadcasting added or stretched, so it
        has the operand's `shape`."""
        shape = tuple(shape)
        if grad.shape == shape:
            return grad
        lead = len(grad.shape) - len(shape)
        axes = list(range(lead)) + [lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1]
        summed = self.run("Sum", grad, axes, keep_dims=False) if axes else grad
        return self.reshape(summed, shape)

    def reshape(self, value: Tensor, shape: Sequence[int]) -> Tensor:
        return value if tuple(value.shape) == tuple(shape) else self.run("Reshape", value, list(shape))

    def broadcast_to(self, value: Tensor, shape: Sequence[int]) -> Tensor:
        return value if tuple(value.shape) == tuple(shape) else self.run("BroadcastTo", value, list(shape))


def _is_ints(value: Any) -> bool:
    """Python ints and lists of them (shapes, axes; an empty list too) become int32 tensors."""
    return (isinstance(value, (list, tuple)) and not value) or np.asarray(value).dtype.kind in "iu"
