"""The numpy CPU backend: runs every op; the fallback of the WebGL backend."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence

import numpy as np

from engine import tape
from engine.backends.base import Backend, add_note, as_outputs, as_tensor
from engine.errors import KernelError, TfglError
from engine.kernels.cpu import allocator, blas, openmp
from engine.kernels.registry import BACKEND_NEUTRAL
from engine.tensors import Tensor, alias

_state = threading.local()
MAX_WORKLOADS = 256  # thread choices kept (one per model and input shapes)


class CPUBackend(Backend):
    name = "cpu"
    kernel_chain = ("cpu", BACKEND_NEUTRAL)
    fuses_elementwise = True
    fuses_separable = True
    folds_static_values = True

    def __init__(self) -> None:
        super().__init__()
        self._thread_choices: dict[Hashable, blas.ThreadChoice] = {}

    @contextlib.contextmanager
    def session(self, workload: Hashable | None = None) -> Iterator[None]:
        """A model run: NaN/Inf results follow IEEE without numpy's warnings, set once for every
        kernel of the run rather than per kernel (a per-call np.errstate cost as much as a small op).
        The first one sets glibc's allocator up for big arrays (engine/kernels/cpu/allocator.py). A
        `workload`'s runs learn whether OpenBLAS's threads pay for it (engine/kernels/cpu/blas.py)."""
        allocator.tune_once()
        depth = getattr(_state, "quiet", 0)
        choice = self._thread_choice(workload) if workload is not None and depth == 0 else None
        with np.errstate(all="ignore"), choice.call(openmp.threads) if choice else contextlib.nullcontext():
            _state.quiet = depth + 1
            try:
                yield
            finally:
                _state.quiet = depth

    def _thread_choice(self, workload: Hashable) -> blas.ThreadChoice:
        choice = self._thread_choices.get(workload)
        if choice is None:
            if len(self._thread_choices) >= MAX_WORKLOADS:  # inputs of ever new shapes: start over
                self._thread_choices.clear()
            choice = self._thread_choices.setdefault(workload, blas.ThreadChoice())
        return choice

    def runner(self, op: str, attrs: dict, node: str) -> Callable[[Sequence], list] | None:
        """`run` for one graph node, with what `run` works out per call (the kernel, its checked
        attrs) worked out once; a step's inputs may differ from call to call in everything else
        (shapes, dtypes), which the kernel sees as in `run`. Anything unusual on a call (inputs
        that are not tensors, an arity the kernel does not take, a listening gradient tape,
        profiling) goes through `run`, as does a node whose attrs are wrong (`run` says so)."""
        kernel = self.kernel_for(op)
        if kernel is None:
            return None
        try:
            kwargs = self._checked_attrs(kernel, attrs, node)
        except TfglError:
            return None
        fn, arity, variadic, where = kernel.fn, len(kernel.inputs), kernel.variadic, node or op
        on_arrays = kernel.backend == "cpu"  # else backend-neutral: takes tensors and handles as they are

        def run(inputs: Sequence) -> list:
            count = len(inputs)
            if count != arity and not (variadic and count > arity) or self.profile is not None \
                    or tape.listening_tapes() or on_arrays and not all(type(x) is Tensor for x in inputs):
                return self.run(op, inputs, attrs, node)
            try:
                if not on_arrays:
                    result = fn(*inputs, **kwargs)
                elif getattr(_state, "quiet", 0):
                    result = fn(*[x.numpy() for x in inputs], **kwargs)
                else:
                    with np.errstate(all="ignore"):
                        result = fn(*[x.numpy() for x in inputs], **kwargs)
            except (ValueError, OverflowError) as error:  # as `run`: bad input
                raise KernelError(f"node {where!r} ({op}): {error}") from error
            except Exception as error:
                add_note(error, f"while running node {where!r} ({op})")
                raise
            if on_arrays:  # new tensors: the kernel saw arrays, never the input tensors themselves
                return [as_tensor(out) for out in as_outputs(result)]
            return [alias(out) if isinstance(out, Tensor) and any(out is x for x in inputs) else out
                    for out in as_outputs(result)]
        return run
