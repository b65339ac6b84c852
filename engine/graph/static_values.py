"""Values a plan computes from its inputs' shapes and its constants alone, remembered per workload.

Converted models carry shape arithmetic: Shape of a tensor, a StridedSlice of that, a Pack with
constants, a Reshape or Fill that follows (handtrack: 143 of its 534 kernel calls). For inputs of given
shapes every such value is the same on every call, so TensorFlow's grappler folds them once the
shapes are known. Here a workload's first run records them (Executor.workload: the feeds' shapes
and dtypes), and its later runs take them instead of running their steps again, for backends whose
tensors live in host memory (Backend.folds_static_values).

A step is static when its op is a pure function of its inputs (FOLDABLE) and every input is a
constant or another static step's output; a shape query (SHAPE_QUERIES) is static whatever it reads,
and is the guard: a later run takes the recorded values only while each query's input has the shape
it had when they were recorded. An op whose output shape depends on values (NMS, Where) can give
one of them another shape on another call; the guard catches that, the steps from there on run,
and the workload records anew on its next run. Steps run in topological order, so a value taken
before the first failing guard never depended on it.
"""
from __future__ import annotations

import weakref
from collections.abc import Hashable, Set
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.graph.plan import Step
from engine.tensors import Tensor

SHAPE_QUERIES = frozenset({"Shape", "ShapeN", "Size", "Rank"})
# deterministic, stateless, and their outputs are fresh values: never handles or lists
FOLDABLE = SHAPE_QUERIES | frozenset({
    "Identity", "StridedSlice", "Slice", "Pack", "Unpack", "Reshape", "Squeeze", "ExpandDims", "Fill", "Range",
    "Cast", "ConcatV2", "Concat", "Tile", "BroadcastTo", "BroadcastArgs", "GatherV2",
    "Add", "AddV2", "Sub", "Mul", "Neg", "Abs", "FloorDiv", "FloorMod", "RealDiv", "Div", "Maximum", "Minimum",
    "Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual", "LogicalAnd", "LogicalOr", "LogicalNot",
    "Select", "SelectV2", "Prod", "Sum", "Max", "Min",
})
MAX_WORKLOADS = 64
# a step's outputs above this size are not kept (a Fill or Tile of a big shape): it runs every call
MAX_RECORDED_BYTES = 1 << 20


def mark_static(steps: list[Step], constants: Set[str], fetched: set[str]) -> None:
    """Sets step.static for the steps (a plan's, in order) whose values are static; never for a
    fetched node (the caller gets a value of its own on every call). `constants`: the nodes whose
    values never change (not a Const the plan's caller feeds)."""
    static: set[str] = set()
    for step in steps:
        node = step.node
        if node.name in constants or node.name in fetched or node.op not in FOLDABLE:
            continue
        if node.op in SHAPE_QUERIES or step.input_keys and all(
                name in static or name in constants for name, _ in step.input_keys):
            static.add(node.name)
            step.static = True


@dataclass
class Recording:
    """One workload's static values: each static step's outputs, and each shape query's input shapes."""
    outputs: dict[str, list] = field(default_factory=dict)
    guards: dict[str, tuple] = field(default_factory=dict)
    arrays: set[int] = field(default_factory=set)  # ids of the memory its outputs' arrays view
    stale: bool = False


class StaticValues:
    """An executor's recordings: per backend (a float64 one computes other values), then per workload."""

    def __init__(self) -> None:
        self._recordings: weakref.WeakKeyDictionary[Any, dict[Hashable, Recording]] = weakref.WeakKeyDictionary()

    def start(self, backend: Any, workload: Hashable) -> Folding:
        """A run's folding: taking the workload's recording, or making one."""
        recordings = self._recordings.setdefault(backend, {})
        recording = recordings.get(workload)
        if recording is None:
            return Folding(recordings, workload, Recording(), making=True)
        return Folding(recordings, workload, recording, making=False)

    def finish(self, folding: Folding) -> None:
        """After a run that succeeded: keeps the recording it made; drops one a guard found stale."""
        recordings, workload = folding.recordings, folding.workload
        if folding.making:
            if len(recordings) >= MAX_WORKLOADS:
                recordings.clear()
            recordings[workload] = folding.recording
        elif folding.recording.stale:
            recordings.pop(workload, None)

    def of(self, backend: Any) -> dict[Hashable, Recording]:
        """The backend's recordings by workload."""
        return self._recordings.get(backend, {})


class Folding:
    """One run's use of its workload's recording: taking its values while the guards hold, or (on the
    workload's first run) making it."""

    __slots__ = ("recordings", "workload", "recording", "making", "holding")

    def __init__(self, recordings: dict, workload: Hashable, recording: Recording, making: bool):
        self.recordings, self.workload = recordings, workload
        self.recording, self.making, self.holding = recording, making, True

    def take(self, step: Step, inputs: list) -> list | None:
        """The step's recorded outputs, or None where it must run: on the first run, once a guard
        failed (this one: its input has another shape than when recorded), or where the recording
        run did not run it (a tail step waiting on an untaken branch then)."""
        if self.making or not self.holding:
            return None
        recording = self.recording
        name = step.node.name
        shapes = recording.guards.get(name)
        if shapes is not None and tuple(getattr(x, "shape", None) for x in inputs) != shapes:
            self.holding = False
            recording.stale = True
            return None
        return recording.outputs.get(name)

    def remember(self, step: Step, inputs: list, outputs: list) -> None:
        if self.making:
            name = step.node.name
            if step.node.op in SHAPE_QUERIES:
                self.recording.guards[name] = tuple(getattr(x, "shape", None) for x in inputs)
            if sum(x.numpy().nbytes for x in outputs if isinstance(x, Tensor) and x.has_values()) > MAX_RECORDED_BYTES:
                return
            self.recording.outputs[name] = outputs
            self.recording.arrays.update(id(_memory(x)) for x in outputs if isinstance(x, Tensor) and x.has_values())

    def private(self, results: list) -> list:
        """The run's results, each that views a recorded value's memory (a fetched Identity or Reshape
        of one) copied: the caller may write into what it gets."""
        arrays = self.recording.arrays
        return [Tensor(x.numpy().copy(), x.dtype) if isinstance(x, Tensor) and x.has_values()
                and id(_memory(x)) in arrays else x for x in results]


def _memory(tensor: Tensor) -> np.ndarray:
    """The array that owns a tensor's values (the base of the views over it)."""
    array = tensor.numpy()
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array
