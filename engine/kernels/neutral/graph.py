"""Graph-category ops that never read values: identities, shape queries, no-ops."""
from __future__ import annotations

import math
import sys

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import first_int, int_list, normalize_axis
from engine.tensors import Tensor, alias

KERNELS = KernelTable()


def _int_tensor(values) -> Tensor:
    array = np.asarray(values, dtype=np.int64)
    return Tensor(dtypes.to_storage(array, "int32"), "int32")


def tensor_input(x, op: str) -> Tensor:
    """`x`, which must be a tensor: the identities pass handles (TensorLists, ...) through, these ops can't."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{op}: expected a tensor, got a {type(x).__name__}")
    return x


@KERNELS.define("Identity", "Snapshot", "StopGradient", "PlaceholderWithDefault", "PreventGradient")
def identity(x):
    return x


@KERNELS.define("IdentityN")
def identity_n(*xs):
    return list(xs)


@KERNELS.define("NoOp")
def no_op(*_):
    return []


@KERNELS.define("Shape")
def shape(x):
    return _int_tensor(tensor_input(x, "Shape").shape)


@KERNELS.define("ShapeN")
def shape_n(*xs):
    return [_int_tensor(tensor_input(x, "ShapeN").shape) for x in xs]


@KERNELS.define("Size")
def size(x):
    return _int_tensor(tensor_input(x, "Size").size)


@KERNELS.define("Rank")
def rank(x):
    return _int_tensor(tensor_input(x, "Rank").rank)


@KERNELS.define("EnsureShape")
def ensure_shape(x, *, shape=None):
    x = tensor_input(x, "EnsureShape")
    if shape is not None and (len(shape) != x.rank or any(e >= 0 and e != d for e, d in zip(shape, x.shape))):
        raise ValueError(f"EnsureShape: shape {list(x.shape)} is not compatible with {list(shape)}")
    return x


@KERNELS.define("Print")
def print_(x, *data, message: str = "", summarize: int = 3):
    """Prints like TF.js's Print op: the message, then each data tensor's first values."""
    parts = [message] + [str(tensor_input(t, "Print").numpy().reshape(-1)[:summarize].tolist()) for t in data]
    print(" ".join(p for p in parts if p), file=sys.stderr)
    return x


@KERNELS.define("Reshape")
def reshape(x, shape):
    x = tensor_input(x, "Reshape")
    target = [int(d) for d in tensor_input(shape, "Reshape").numpy().reshape(-1)]
    return alias(x, resolve_reshape(x.shape, target))


def resolve_reshape(shape: tuple[int, ...], target: list[int]) -> tuple[int, ...]:
    """Fills one -1 dimension; raises when sizes don't match. As TensorFlow, zero dimensions are left
    out of the -1's arithmetic when the target has one, so an empty tensor's other dimensions can
    still be inferred ([0] to [-1, 0] is [1, 0])."""
    size = math.prod(shape)
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in target):
        raise ValueError(f"Reshape: bad target shape {target}")
    if unknown:
        skip_zeros = 0 in target
        known = math.prod(d for d in target if d != -1 and (d or not skip_zeros))
        counted = math.prod(d for d in shape if d or not skip_zeros)
        if known == 0 or (counted == size and counted % known):
            raise ValueError(f"Reshape: cannot reshape {list(shape)} ({size} values) to {target}")
        target = list(target)
        target[unknown[0]] = counted // known
    if math.prod(target) != size:
        raise ValueError(f"Reshape: cannot reshape {list(shape)} ({size} values) to {target}")
    return tuple(target)


@KERNELS.define("Squeeze")
def squeeze(x, *, squeeze_dims=()):
    x = tensor_input(x, "Squeeze")
    axes = ({normalize_axis(a, x.rank, "Squeeze") for a in int_list(squeeze_dims)} if squeeze_dims
            else {i for i, d in enumerate(x.shape) if d == 1})
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"Squeeze: dimension {a} of shape {list(x.shape)} is not 1")
    return alias(x, [d for i, d in enumerate(x.shape) if i not in axes])


@KERNELS.define("ExpandDims")
def expand_dims(x, axis):
    x = tensor_input(x, "ExpandDims")
    a = first_int(tensor_input(axis, "ExpandDims").numpy())
    rank = x.rank
    if not -rank - 1 <= a <= rank:
        raise ValueError(f"ExpandDims: axis {a} out of range for rank {rank}")
    a = a % (rank + 1)
    shape = list(x.shape)
    shape.insert(a, 1)
    return alias(x, shape)
