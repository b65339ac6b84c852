"""Function-calling ops (control flow v2): While, If and (Stateful)PartitionedCall.

Their kernels receive `runtime`, the model's function library, from the executor.
"""
from __future__ import annotations

from engine.errors import GraphError
from engine.kernels.registry import BACKEND_NEUTRAL, register

MAX_WHILE_ITERATIONS = 10_000_000


def truthy(t) -> bool:
    """TensorFlow's rule for an If/While predicate: a scalar's value; otherwise non-empty is true."""
    values = t.numpy()
    if values.ndim == 0:
        return bool(values) if values.dtype != object else len(values.item()) > 0
    return values.size > 0


@register("While", "StatelessWhile", backend=BACKEND_NEUTRAL)
def while_(*loop_vars, cond, body, runtime):
    loop_vars = list(loop_vars)
    for _ in range(MAX_WHILE_ITERATIONS):
        if not truthy(runtime.call(cond, loop_vars)[0]):
            return loop_vars
        loop_vars = runtime.call(body, loop_vars)
    raise GraphError(f"While loop did not end after {MAX_WHILE_ITERATIONS} iterations")


@register("If", "StatelessIf", backend=BACKEND_NEUTRAL)
def if_(cond, *inputs, then_branch, else_branch, runtime):
    return runtime.call(then_branch if truthy(cond) else else_branch, list(inputs))


@register("PartitionedCall", "StatefulPartitionedCall", backend=BACKEND_NEUTRAL)
def partitioned_call(*args, f, runtime):
    return runtime.call(f, list(args))

