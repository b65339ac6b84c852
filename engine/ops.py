"""Raw TensorFlow ops, eagerly: each runs the same kernel a model would, on the current backend.

Every registered kernel is here under its snake_case TensorFlow name (`conv2d`, `batch_mat_mul_v2`,
`fused_conv2d`, `sum`, ...), taking the op's inputs positionally and its attrs as keywords, exactly
as a graph node passes them: `ops.sum(x, axes, keep_dims=True)`, `ops.squeeze(x, squeeze_dims=[0])`.
TF.js-style signatures (`tfjs.sum(x, axis, keepdims)`, `tfjs.matmul`, ...) are engine.tfjs.
"""
from __future__ import annotations

from typing import Any

from engine.backends import get_backend
from engine.kernels import register_all  # noqa: F401  (every registered kernel becomes an eager op)
from engine.kernels import registry
from engine.tensors import Tensor, tensor


def run(op: str, *inputs: Any, **attrs: Any) -> Tensor | list[Tensor]:
    """Runs TensorFlow op `op` eagerly; one output -> a Tensor, several -> a list."""
    tensors = [x if isinstance(x, Tensor) or x is None else tensor(x) for x in inputs]
    outputs = get_backend().run(op, tensors, attrs)
    return outputs[0] if len(outputs) == 1 else outputs


def _raw(op: str):
    def call(*inputs: Any, **attrs: Any):
        return run(op, *inputs, **attrs)
    call.__name__ = call.__qualname__ = registry.snake_case(op)
    call.__doc__ = f"Runs the TensorFlow op {op} (inputs positional, attrs as keywords)."
    return call


# Installed last: names like `sum`, `max`, `range` and `abs` shadow Python's builtins in this module.
_RAW_OPS = {registry.snake_case(op): _raw(op) for op in sorted(registry.all_ops())}
globals().update(_RAW_OPS)
__all__ = ["run", *_RAW_OPS]
