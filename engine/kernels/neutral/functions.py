"""Function-calling ops (control flow v2): While, If and (Stateful)PartitionedCall.

Their kernels receive `runtime`, the model's function library, from the executor.
"""
from __future__ import annotations

from engine.errors import GraphError
from engine.io.limits import Limits
from engine.kernels.registry import KernelTable

KERNELS = KernelTable()


def truthy(t) -> bool:
    """TensorFlow's rule for an If/While predicate: a scalar's value; otherwise non-empty is true."""
    values = t.numpy()
    if values.ndim == 0:
        return bool(values) if values.dtype != object else len(values.item()) > 0
    return values.size > 0


@KERNELS.define("While", "StatelessWhile")
def while_(*loop_vars, cond, body, runtime):
    loop_vars = list(loop_vars)
    limit = Limits.max_loop_iterations
    for _ in range(limit):
        if not truthy(runtime.call(cond, loop_vars)[0]):
            return loop_vars
        loop_vars = runtime.call(body, loop_vars)
    raise GraphError(f"While loop did not end after {limit} iterations (engine.io.Limits.max_loop_iterations, "
                     f"TFGL_MAX_LOOP_ITERATIONS)")


@KERNELS.define("If", "StatelessIf")
def if_(cond, *inputs, then_branch, else_branch, runtime):
    return runtime.call(then_branch if truthy(cond) else else_branch, list(inputs))


@KERNELS.define("PartitionedCall", "StatefulPartitionedCall")
def partitioned_call(*args, f, runtime):
    return runtime.call(f, list(args))

