"""The recording side of reverse-mode autodiff: which ops ran on which tensors while a tape listened.

Backend.run reports every op it runs to the thread's active tape (engine.autodiff.GradientTape opens
one). A tape keeps an op only when one of its inputs is watched, or came from a kept op, so shape
arithmetic and constant-only work never enter it, and it holds each kept op's inputs and outputs
alive until it closes (the graph executor asks `retains` before freeing a tensor early). Ops that a
kernel runs inside itself (a GL kernel broadcasting its operand) are not kept: the outer op's
gradient already covers them, as TF.js records kernels only at the outermost scope.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from engine.tensors import Tensor


@dataclass(frozen=True)
class Record:
    """One op as it ran: where (the backend), its inputs (None for an absent optional one), attrs
    and outputs."""

    backend: Any
    op: str
    inputs: tuple[Any, ...]
    attrs: dict
    outputs: tuple[Any, ...]


class Tape:
    def __init__(self) -> None:
        self.records: list[Record] = []
        self._tracked: dict[int, Tensor] = {}   # id -> tensor: watched, or produced by a kept op
        self._held: dict[int, Any] = {}         # id -> every tensor a kept op read or wrote

    def watch(self, tensor: Tensor) -> None:
        self._tracked[id(tensor)] = tensor
        self._held[id(tensor)] = tensor

    def tracks(self, tensor: Any) -> bool:
        return id(tensor) in self._tracked

    def retains(self, tensor: Any) -> bool:
        """Whether the backward pass may read `tensor` (so it must not be freed before then)."""
        return id(tensor) in self._held

    def record(self, backend: Any, op: str, inputs: Sequence[Any], attrs: dict, outputs: Sequence[Any]) -> None:
        if not any(id(x) in self._tracked for x in inputs if isinstance(x, Tensor)):
            return
        self.records.append(Record(backend, op, tuple(inputs), attrs, tuple(outputs)))
        for value in (*inputs, *outputs):
            if value is not None:
                self._held[id(value)] = value
        for out in outputs:
            if isinstance(out, Tensor) and out.dtype == "float32":
                self._tracked[id(out)] = out


_state = threading.local()
# Tapes open in any thread: while there are none (inference), Backend.run's check costs one global read.
_open = 0
_open_lock = threading.Lock()


def listening_tapes() -> Sequence[Tape]:
    """This thread's open tapes, or none while a kernel runs (its inner ops are not recorded)."""
    if not _open or getattr(_state, "depth", 0):
        return ()
    return getattr(_state, "tapes", ())


@contextlib.contextmanager
def inside_kernel() -> Iterator[None]:
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


@contextlib.contextmanager
def recording(tape: Tape) -> Iterator[Tape]:
    global _open
    stack = _state.__dict__.setdefault("tapes", [])
    stack.append(tape)
    with _open_lock:
        _open += 1
    try:
        yield tape
    finally:
        stack.remove(tape)
        with _open_lock:
            _open -= 1


def retained(tensor: Any) -> bool:
    """Whether an open tape will read `tensor` in its backward pass."""
    return bool(_open) and any(tape.retains(tensor) for tape in getattr(_state, "tapes", ()))
