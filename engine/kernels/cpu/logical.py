"""Logical ops (op_list/logical.json): comparisons, boolean logic, Select/SelectV2 and bitwise ops, as
TensorFlow: comparisons broadcast and work on numbers, bools, complex64 and (for equality) strings."""
from __future__ import annotations

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.logical import select_condition_shape

KERNELS = KernelTable()


def _equality(ufunc, shapes_mismatch_result: bool):
    """Equal/NotEqual: with incompatible_shape_error=False, shapes that don't broadcast give a scalar
    (False for Equal, True for NotEqual) instead of an error."""
    def kernel(x, y, *, incompatible_shape_error: bool = True):
        if not incompatible_shape_error:
            try:
                np.broadcast_shapes(x.shape, y.shape)
            except ValueError:
                return np.array(shapes_mismatch_result)
        return ufunc(x, y)
    kernel.__name__ = kernel.__qualname__ = ufunc.__name__
    return kernel


KERNELS.define("Equal")(_equality(np.equal, shapes_mismatch_result=False))
KERNELS.define("NotEqual")(_equality(np.not_equal, shapes_mismatch_result=True))


def _binary(ufunc):
    """A kernel that applies a broadcasting numpy ufunc to the op's two inputs."""
    def kernel(x, y):
        return ufunc(x, y)
    kernel.__name__ = kernel.__qualname__ = ufunc.__name__
    return kernel


_BINARY = {
    "Greater": np.greater, "GreaterEqual": np.greater_equal, "Less": np.less, "LessEqual": np.less_equal,
    "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or,
    "BitwiseAnd": np.bitwise_and, "BitwiseOr": np.bitwise_or, "BitwiseXor": np.bitwise_xor,
}
for _op, _ufunc in _BINARY.items():
    KERNELS.define(_op)(_binary(_ufunc))


@KERNELS.define("LogicalNot")
def logical_not(x):
    return np.logical_not(x)


@KERNELS.define("Invert")
def invert(x, *, T: str = "int32"):
    """Bitwise NOT in the op's own integer type: ~5 is 250 for uint8, though storage holds it as int32."""
    return np.invert(x.astype(dtypes.numpy_dtype(T)))


@KERNELS.define("Select")
def select(condition, t, e):
    """TF1 Select: `t` and `e` share one shape; `condition` is a scalar, that same shape, or (for t of rank
    >= 2) a vector choosing whole rows."""
    condition = condition.reshape(select_condition_shape(condition.shape, t.shape, e.shape))
    return np.where(condition, t, e)


@KERNELS.define("SelectV2")
def select_v2(condition, t, e):
    """condition, then and else broadcast against each other."""
    return np.where(condition, t, e)
