"""Backend: finds the kernel for an op and runs it on this backend's tensors."""
from __future__ import annotations

import contextlib
import time
from typing import Any, Sequence

import numpy as np

from engine import dtypes
from engine.errors import AttrError, KernelError, TfglError, UnsupportedOpsError
from engine.kernels.registry import BACKEND_NEUTRAL, Kernel, get_kernel
from engine.tensors import Tensor, alias


class Backend:
    """Base class. `kernel_chain` lists the registry backends searched, in order."""

    name = "base"
    kernel_chain: tuple[str, ...] = ()
    # op -> [calls, ms] while profiling (engine.bench.profile_ops); each op then waits for its result
    profile: dict | None = None

    def synchronize(self) -> None:
        """Waits until every queued op has finished (a no-op where ops run synchronously)."""

    def session(self):
        """A context a whole model run happens in (the WebGL backend makes its context current once)."""
        return contextlib.nullcontext()

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
        try:
            kwargs = kernel.select_attrs(attrs or {})
        except KeyError as missing:
            raise AttrError(where, missing.args[0], f"required by {op} but missing") from None
        _check_arity(kernel, len(inputs), where)
        started = time.perf_counter() if self.profile is not None else 0.0
        try:
            outputs = self.call(kernel, list(inputs), kwargs)
        except TfglError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, ArithmeticError, MemoryError) as error:
            raise KernelError(f"node {where!r} ({op}): {error}") from error
        if self.profile is not None:
            self.synchronize()
            entry = self.profile.setdefault(op, [0, 0.0])
            entry[0] += 1
            entry[1] += (time.perf_counter() - started) * 1e3
        # Every output is a tensor object of its own, so freeing one never frees another.
        return [alias(out) if isinstance(out, Tensor) and any(out is x for x in inputs) else out
                for out in outputs]

    def call(self, kernel: Kernel, inputs: list, attrs: dict) -> list:
        if kernel.backend == BACKEND_NEUTRAL:
            return as_outputs(kernel.fn(*inputs, **attrs))
        if kernel.backend == "cpu":
            return run_cpu_kernel(kernel, inputs, attrs)
        return as_outputs(kernel.fn(self, *inputs, **attrs))


def _check_arity(kernel: Kernel, count: int, where: str) -> None:
    if kernel.variadic:
        return
    params = kernel.inputs
    if count > len(params):
        raise KernelError(f"node {where!r} ({kernel.op}): takes {len(params)} inputs, got {count}")


def run_cpu_kernel(kernel: Kernel, inputs: list, attrs: dict) -> list:
    args = [x.numpy() if isinstance(x, Tensor) else x for x in inputs]
    with np.errstate(all="ignore"):  # NaN/Inf results follow IEEE, as in TensorFlow
        result = kernel.fn(*args, **attrs)
    return [as_tensor(out) for out in as_outputs(result)]


def as_outputs(result: Any) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def as_tensor(value: Any) -> Any:
    """Wraps a kernel's numpy result as a CPU tensor; handles (TensorList, ...) pass through."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, bool, int, float, bytes)):
        array = dtypes.to_storage(np.asarray(value))
        return Tensor(array, dtypes.dtype_of_array(array))
    return value
