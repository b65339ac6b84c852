"""TF.js-style eager ops: `tfjs.sum(x, axis, keepdims)` is TF.js's `tf.sum(x, axis, keepDims)`, run
on the current backend. Inputs are Tensors or anything numpy takes; a Python scalar operand takes the
other operand's dtype. Tensor's chainable methods (`x.matmul(w).add(b).relu()`) call these.

The raw TensorFlow ops, with their inputs and attrs as in a graph, are `engine.ops`. `sum`, `max`,
`min`, `abs` and `pow` shadow Python's builtins inside this module (reach those through `builtins`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.ops import run
from engine.tensors import CHAINED_OPS, Tensor, tensor


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
    return run("Transpose", x, _ints(list(reversed(range(x.rank))) if perm is None else perm))


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
        axes = list(range(x.rank)) if axis is None else [axis] if isinstance(axis, int) else list(axis)
        return run(op, x, _ints(axes), keep_dims=keepdims)
    return call


sum, mean, max, min = _reduction("Sum"), _reduction("Mean"), _reduction("Max"), _reduction("Min")


def argmax(x: Any, axis: int = 0) -> Tensor:
    return run("ArgMax", x, _ints(axis), output_type="int32")


CHAINED_OPS.update(
    add=add, sub=sub, mul=mul, div=div, pow=pow, maximum=maximum, minimum=minimum, matmul=matmul, equal=equal,
    greater=greater, less=less, neg=neg, abs=abs, exp=exp, log=log, sqrt=sqrt, square=square, relu=relu,
    sigmoid=sigmoid, tanh=tanh, softmax=softmax, reshape=reshape, transpose=transpose, squeeze=squeeze,
    expand_dims=expand_dims, cast=cast, sum=sum, mean=mean, max=max, min=min, argmax=argmax,
)
