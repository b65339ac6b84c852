"""Eager ops, as TF.js's `tf.<op>()`: each runs the same kernel a model would, on the current backend.

Every registered kernel is here under its snake_case TensorFlow name (`conv2d`, `batch_mat_mul_v2`,
`fused_conv2d`, ...), taking the op's inputs positionally and its attrs as keywords. A few common
ops also have TF.js-style signatures (`matmul`, `add`, `sum`, `reshape`, ...) used by Tensor's
chainable methods. Names like `sum`, `max`, `range` and `abs` shadow Python's builtins inside this
module, so code here reaches those through `builtins`.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from engine.backends import get_backend
from engine.kernels import register_all  # noqa: F401  (every registered kernel becomes an eager op)
from engine.kernels import registry
from engine.tensors import CHAINED_OPS, Tensor, tensor


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


def _ints(values: Any) -> Tensor:
    return tensor(np.asarray(values, dtype=np.int32))


def _binary(op: str):
    def call(a: Any, b: Any) -> Tensor:
        a = a if isinstance(a, Tensor) else tensor(a)
        b = b if isinstance(b, Tensor) else tensor(b, a.dtype if np.ndim(b) == 0 else None)
        return run(op, a, b)
    return call


def _unary(op: str):
    return lambda x: run(op, x)


add, sub, mul = _binary("AddV2"), _binary("Sub"), _binary("Mul")
pow, maximum, minimum = _binary("Pow"), _binary("Maximum"), _binary("Minimum")
equal, greater, less = _binary("Equal"), _binary("Greater"), _binary("Less")
neg, abs, exp, log = _unary("Neg"), _unary("Abs"), _unary("Exp"), _unary("Log")
sqrt, square, relu = _unary("Sqrt"), _unary("Square"), _unary("Relu")
sigmoid, tanh, softmax = _unary("Sigmoid"), _unary("Tanh"), _unary("Softmax")


def div(a: Any, b: Any) -> Tensor:
    """a / b; integer tensors divide with floor, as TF.js's tf.div."""
    a = a if isinstance(a, Tensor) else tensor(a)
    return _binary("FloorDiv" if a.dtype == "int32" else "RealDiv")(a, b)


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Tensor:
    a = a if isinstance(a, Tensor) else tensor(a)
    b = b if isinstance(b, Tensor) else tensor(b)
    if a.rank == 2 and b.rank == 2:
        return run("MatMul", a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    return run("BatchMatMulV2", a, b, adj_x=transpose_a, adj_y=transpose_b)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    return run("Reshape", x, _ints(shape))


def transpose(x: Any, perm: Sequence[int] | None = None) -> Tensor:
    x = x if isinstance(x, Tensor) else tensor(x)
    return run("Transpose", x, _ints(list(reversed(builtins.range(x.rank))) if perm is None else perm))


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    dims = [] if axis is None else [axis] if isinstance(axis, int) else list(axis)
    return run("Squeeze", x, squeeze_dims=dims)


def expand_dims(x: Any, axis: int) -> Tensor:
    return run("ExpandDims", x, _ints(axis))


def cast(x: Any, dtype: str) -> Tensor:
    return run("Cast", x, DstT=dtype)


def _reduction(op: str):
    def call(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        x = x if isinstance(x, Tensor) else tensor(x)
        axes = list(builtins.range(x.rank)) if axis is None else [axis] if isinstance(axis, int) else list(axis)
        return run(op, x, _ints(axes), keep_dims=keepdims)
    return call


sum, mean, max, min = _reduction("Sum"), _reduction("Mean"), _reduction("Max"), _reduction("Min")


def argmax(x: Any, axis: int = 0) -> Tensor:
    return run("ArgMax", x, _ints(axis), output_type="int32")


def _install_raw_ops() -> None:
    names = globals()
    for op in sorted(registry.all_ops()):
        name = registry.snake_case(op)
        if name not in names:
            names[name] = _raw(op)


_install_raw_ops()


CHAINED_OPS.update(
    add=add, sub=sub, mul=mul, div=div, pow=pow, maximum=maximum, minimum=minimum, matmul=matmul, equal=equal,
    greater=greater, less=less, neg=neg, abs=abs, exp=exp, log=log, sqrt=sqrt, square=square, relu=relu,
    sigmoid=sigmoid, tanh=tanh, softmax=softmax, reshape=reshape, transpose=transpose, squeeze=squeeze,
    expand_dims=expand_dims, cast=cast, sum=sum, mean=mean, max=max, min=min, argmax=argmax,
)
