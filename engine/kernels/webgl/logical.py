"""GL kernels of the logical family: comparisons (bool out, NaN-aware), boolean logic, Select/SelectV2
(through a three-input template) and bitwise ops on int32 storage. Strings and complex64 stay on the CPU
(the kernels raise CPUFallback for them)."""
from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.logical import select_condition_shape
from engine.kernels.webgl.common import binary, broadcast_shape, ternary, unary
from engine.tensors import Tensor, alias
from engine.webgl.program import CPUFallback

KERNELS = KernelTable()





# --- comparisons ---------------------------------------------------------------------------------------------

def _comparison(shader: str):
    def kernel(backend, x, y):
        return binary(backend, x, y, shader, out_dtype="bool")
    kernel.__name__ = kernel.__qualname__ = PurePosixPath(shader).stem
    return kernel


for _op, _shader in {"Greater": "logical/greater.glsl", "GreaterEqual": "logical/greater_equal.glsl",
                     "Less": "logical/less.glsl", "LessEqual": "logical/less_equal.glsl"}.items():
    KERNELS.define(_op)(_comparison(_shader))


def _equality(shader: str, shapes_mismatch_result: bool):
    """Equal/NotEqual: with incompatible_shape_error=False, shapes that don't broadcast give a scalar
    (False for Equal, True for NotEqual), as the CPU kernel."""
    def kernel(backend, x, y, *, incompatible_shape_error: bool = True):
        if not incompatible_shape_error:
            try:
                np.broadcast_shapes(x.shape, y.shape)
            except ValueError:
                return Tensor(np.array(shapes_mismatch_result), "bool")
        return binary(backend, x, y, shader, out_dtype="bool")
    kernel.__name__ = kernel.__qualname__ = PurePosixPath(shader).stem
    return kernel


KERNELS.define("Equal")(_equality("logical/equal.glsl", shapes_mismatch_result=False))
KERNELS.define("NotEqual")(_equality("logical/not_equal.glsl", shapes_mismatch_result=True))


# --- boolean logic ---------------------------------------------------------------------------------------------

@KERNELS.define("LogicalAnd")
def logical_and(backend, x, y):
    return binary(backend, x, y, "logical/logical_and.glsl", out_dtype="bool")


@KERNELS.define("LogicalOr")
def logical_or(backend, x, y):
    return binary(backend, x, y, "logical/logical_or.glsl", out_dtype="bool")


@KERNELS.define("LogicalNot")
def logical_not(backend, x):
    return unary(backend, x, "logical/logical_not.glsl", out_dtype="bool")


# --- bitwise ---------------------------------------------------------------------------------------------------

def _require_int(*tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype != "int32":
            raise CPUFallback(f"bitwise ops on {t.dtype} stay on the CPU")


def _bitwise(shader: str):
    def kernel(backend, x, y):
        _require_int(x, y)
        return binary(backend, x, y, shader)
    kernel.__name__ = kernel.__qualname__ = PurePosixPath(shader).stem
    return kernel


for _op, _shader in {"BitwiseAnd": "logical/bitwise_and.glsl", "BitwiseOr": "logical/bitwise_or.glsl",
                     "BitwiseXor": "logical/bitwise_xor.glsl"}.items():
    KERNELS.define(_op)(_bitwise(_shader))

# How ~x wraps in each integer type (storage holds them all as int32): (bits, signed).
_INVERT_WRAP = {"int8": (8, True), "uint8": (8, False), "int16": (16, True), "uint16": (16, False)}


@KERNELS.define("Invert")
def invert(backend, x, *, T: str = "int32"):
    """Bitwise NOT in the op's own type: ~5 is 250 for uint8. 32- and 64-bit types wrap into int32
    storage the same way (~x = -x - 1)."""
    _require_int(x)
    bits, signed = _INVERT_WRAP.get(T, (32, True))
    return unary(backend, x, "logical/invert.glsl", defines={"BITS": bits, "SIGNED": signed})


# --- select ------------------------------------------------------------------------------------------------------

@KERNELS.define("Select")
def select(backend, condition, t, e):
    """TF1 Select: `t` and `e` share one shape; `condition` is a scalar, that same shape, or (for t of rank
    >= 2) a vector choosing whole rows."""
    shape = select_condition_shape(condition.shape, t.shape, e.shape)
    if shape != condition.shape:
        condition = alias(condition, shape)
    return ternary(backend, condition, t, e, "logical/select.glsl", t.shape, t.dtype)


@KERNELS.define("SelectV2")
def select_v2(backend, condition, t, e):
    """condition, then and else broadcast against each other."""
    shape = broadcast_shape(broadcast_shape(condition.shape, t.shape), e.shape)
    return ternary(backend, condition, t, e, "logical/select.glsl", shape, t.dtype)
