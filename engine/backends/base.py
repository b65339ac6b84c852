"""Backend: finds the kernel for an op and runs it on this backend's tensors."""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from engine import dtypes, tape
from engine.errors import AttrError, KernelError, UnsupportedOpsError
from engine.kernels.registry import BACKEND_NEUTRAL, Kernel, get_kernel
from engine.tensors import Tensor, alias


class Backend:
    """Base class. `kernel_chain` lists the registry backends searched, in order."""

    name = "base"
    kernel_chain: tuple[str, ...] = ()
    # op -> [calls, ms] while profiling (engine.bench.profile_ops); each op then waits for its result
    profile: dict | None = None
    # whether models loaded for this backend fuse elementwise chains (engine/graph/fuse_elementwise.py)
    fuses_elementwise = False
    # whether they fuse a depthwise convolution into the 1x1 one that reads it (engine/graph/fuse_separable.py)
    fuses_separable = False
    # a workload's later runs take the values its first run computed from shapes and constants
    # (engine.graph.static_values): for backends whose tensors live in host memory, never disposed
    folds_static_values = False

    def __init__(self) -> None:
        # (id(kernel), id(attrs)) -> (attrs, the kwargs `run` passes): see _checked_attrs
        self._attrs_checked: dict[tuple[int, int], tuple[dict, dict]] = {}

    def synchronize(self) -> None:
        """Waits until every queued op has finished (a no-op where ops run synchronously)."""

    def session(self, workload: Hashable | None = None):
        """A context a whole model run happens in (the WebGL backend makes its context current once).
        `workload` names what the run computes (Executor.workload), for backends that tune per workload."""
        return contextlib.nullcontext()

    def when_closed(self, forget) -> None:
        """Has a cache call forget(self) (a weakref.WeakMethod) when the backend closes; most never do
        (the WebGL backend closes when its thread ends)."""

    def runner(self, op: str, attrs: dict, node: str):
        """A function inputs -> outputs that runs `op` as `run` does, faster, or None: use `run`.
        Executors keep one per plan step (CPUBackend's)."""
        return None

    def kernel_for(self, op: str) -> Kernel | None:
        for backend in self.kernel_chain:
            kernel = get_kernel(op, backend)
            if kernel is not None:
                return kernel
        return None

    def supports(self, op: str) -> bool:
        return self.kernel_for(op) is not None

    def run(self, op: str, inputs: Sequence[Any], attrs: dict | None = None,
            node: str | None = None) -> list[Any]:
        """Runs `op` on `inputs`; returns its outputs as a list."""
        where = node or op
        kernel = self.kernel_for(op)
        if kernel is None:
            raise UnsupportedOpsError({op: [where]})
        _check_arity(kernel, len(inputs), where)
        _check_inputs(kernel, inputs, where)
        kwargs = self._checked_attrs(kernel, attrs if attrs is not None else {}, where)
        started = time.perf_counter() if self.profile is not None else 0.0
        # Only bad input becomes a KernelError: kernels reject it with ValueError, as numpy does shapes
        # that don't fit, and Python raises OverflowError for values no int holds (an Inf size). Anything
        # else is a bug (or a TfglError of its own) and stays what it is, with the node in a note.
        tapes = tape.listening_tapes()
        try:
            if tapes:
                with tape.inside_kernel():
                    outputs = self.call(kernel, list(inputs), kwargs)
            else:
                outputs = self.call(kernel, list(inputs), kwargs)
        except (ValueError, OverflowError) as error:
            raise KernelError(f"node {where!r} ({op}): {error}") from error
        except Exception as error:
            add_note(error, f"while running node {where!r} ({op})")
            raise
        if self.profile is not None:
            self.synchronize()
            entry = self.profile.setdefault(op, [0, 0.0])
            entry[0] += 1
            entry[1] += (time.perf_counter() - started) * 1e3
        # Every output is a tensor object of its own, so freeing one never frees another.
        outputs = [alias(out) if isinstance(out, Tensor) and any(out is x for x in inputs) else out
                   for out in outputs]
        for open_tape in tapes:
            open_tape.record(self, op, inputs, attrs if attrs is not None else {}, outputs)
        return outputs

    def _checked_attrs(self, kernel: Kernel, attrs: dict, where: str) -> dict:
        """The attrs `kernel` reads, checked; remembered per attrs dict (a graph node's, the same on
        every run), since checking them cost as much as a small kernel."""
        key = (id(kernel), id(attrs))
        cached = self._attrs_checked.get(key)
        if cached is not None and cached[0] is attrs:
            return cached[1]
        try:
            kwargs = kernel.select_attrs(attrs)
        except KeyError as missing:
            raise AttrError(where, missing.args[0], f"required by {kernel.op} but missing") from None
        mistyped = kernel.mistyped_attr(kwargs)
        if mistyped is not None:
            raise AttrError(where, *mistyped)
        if len(self._attrs_checked) >= _MAX_CHECKED_ATTRS:
            self._attrs_checked.clear()
        self._attrs_checked[key] = (attrs, kwargs)  # holds attrs, so its id is not reused meanwhile
        return kwargs

    def call(self, kernel: Kernel, inputs: list, attrs: dict) -> list:
        if kernel.backend == BACKEND_NEUTRAL:
            return as_outputs(kernel.fn(*inputs, **attrs))
        if kernel.backend == "cpu":
            return run_cpu_kernel(kernel, inputs, attrs)
        return as_outputs(kernel.fn(self, *inputs, **attrs))


# attrs dicts whose checks are remembered, per backend (graphs hold one per node)
_MAX_CHECKED_ATTRS = 8192


def _check_arity(kernel: Kernel, count: int, where: str) -> None:
    params = kernel.inputs
    if count < len(params) or count > len(params) and not kernel.variadic:
        expected = f"at least {len(params)}" if kernel.variadic else f"{len(params)}"
        raise KernelError(f"node {where!r} ({kernel.op}): takes {expected} inputs, got {count}")


# TensorFlow's names for the inputs that take a TensorArray, TensorList or hash table handle.
HANDLE_INPUTS = frozenset({"handle", "input_handle", "table_handle"})


def _check_inputs(kernel: Kernel, inputs: Sequence[Any], where: str) -> None:
    """CPU and GL kernels compute on tensors: anything else (a TensorList, ...) may only be a handle
    input. Backend-neutral kernels pass handles through (Identity, While, ...) or check themselves."""
    if kernel.backend == BACKEND_NEUTRAL or all(type(value) is Tensor for value in inputs):
        return
    for index, value in enumerate(inputs):
        takes_handle = index < len(kernel.inputs) and kernel.inputs[index] in HANDLE_INPUTS
        if not isinstance(value, Tensor) and not takes_handle:
            raise KernelError(f"node {where!r} ({kernel.op}): input {index} is a {type(value).__name__}, not a tensor")


def add_note(error: BaseException, note: str) -> None:
    """PEP 678's exception note. Python 3.10 has no add_note: the note goes in `__notes__` all the
    same, where pytest and the exceptiongroup backport's traceback find it."""
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:
        error.__notes__ = [*getattr(error, "__notes__", []), note]


def run_cpu_kernel(kernel: Kernel, inputs: list, attrs: dict) -> list:
    args = [x.numpy() if isinstance(x, Tensor) else x for x in inputs]
    with np.errstate(all="ignore"):  # NaN/Inf results follow IEEE, as in TensorFlow
        result = kernel.fn(*args, **attrs)
    return [as_tensor(out) for out in as_outputs(result)]


def as_outputs(result: Any) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


_STORED_AS = {np.dtype(np.float32): "float32", np.dtype(np.int32): "int32", np.dtype(np.bool_): "bool",
              np.dtype(np.complex64): "complex64"}


def as_tensor(value: Any) -> Any:
    """Wraps a kernel's numpy result as a CPU tensor; handles (TensorList, ...) pass through."""
    if isinstance(value, Tensor):
        return value
    if type(value) is np.ndarray and value.dtype in _STORED_AS:  # most results: stored as they are
        return Tensor(value, _STORED_AS[value.dtype])
    if isinstance(value, (np.ndarray, np.generic, bool, int, float, bytes)):
        array = dtypes.to_storage(np.asarray(value))
        return Tensor(array, dtypes.dtype_of_array(array))
    return value
