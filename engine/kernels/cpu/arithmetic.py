"""Arithmetic ops (op_list/arithmetic.json): binary elementwise with broadcasting, as TensorFlow."""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable

KERNELS = KernelTable()


@KERNELS.define("Add", "AddV2")
def add(a, b):
    if a.dtype == object:
        return np.char.add(a.astype(bytes), b.astype(bytes)).astype(object)
    return np.add(a, b, dtype=a.dtype)


@KERNELS.define("AddN")
def add_n(*inputs):
    out = inputs[0].copy() if inputs[0].ndim else np.array(inputs[0])
    for x in inputs[1:]:
        out = np.add(out, x, dtype=out.dtype)
    return out


@KERNELS.define("BiasAdd")
def bias_add(value, bias, *, data_format: str = "NHWC"):
    if data_format.startswith("NC") and value.ndim > 2:
        bias = bias.reshape((-1,) + (1,) * (value.ndim - 2))
    return np.add(value, bias, dtype=value.dtype)


@KERNELS.define("Sub")
def sub(a, b):
    return np.subtract(a, b, dtype=a.dtype)


@KERNELS.define("Mul")
def mul(a, b):
    if a.dtype == np.bool_:
        return np.logical_and(a, b)
    return np.multiply(a, b, dtype=a.dtype)


@KERNELS.define("RealDiv", "Div")
def div(a, b):
    if a.dtype.kind in "iu":
        return _int_div(a, b, truncate=True)
    return np.divide(a, b, dtype=a.dtype)


@KERNELS.define("DivNoNan")
def div_no_nan(a, b):
    out = np.divide(a, b, dtype=a.dtype)
    return np.where(np.broadcast_to(b, out.shape) == 0, np.zeros((), a.dtype), out)


@KERNELS.define("FloorDiv")
def floor_div(a, b):
    if a.dtype.kind in "iu":
        return _int_div(a, b, truncate=False)
    return np.floor(np.divide(a, b, dtype=a.dtype))


def _int_div(a: np.ndarray, b: np.ndarray, truncate: bool) -> np.ndarray:
    if np.any(b == 0):
        raise ValueError("Integer division by zero")
    if truncate:
        q = np.abs(a) // np.abs(b)
        return (np.sign(a) * np.sign(b) * q).astype(a.dtype)
    return np.floor_divide(a, b, dtype=a.dtype)


@KERNELS.define("Maximum")
def maximum(a, b):
    return np.maximum(a, b, dtype=a.dtype)


@KERNELS.define("Minimum")
def minimum(a, b):
    return np.minimum(a, b, dtype=a.dtype)


@KERNELS.define("Pow")
def pow_(a, b):
    if a.dtype.kind in "iu":
        if np.any(b < 0):
            raise ValueError("Integers to negative integer powers are not allowed")
        return np.power(a, b, dtype=a.dtype)
    return np.power(a, b, dtype=a.dtype)


@KERNELS.define("SquaredDifference")
def squared_difference(a, b):
    d = np.subtract(a, b, dtype=a.dtype)
    return np.multiply(d, d, dtype=d.dtype)


@KERNELS.define("Mod")
def mod(a, b):
    """TensorFlow's Mod truncates (C fmod): the result takes the dividend's sign."""
    if a.dtype.kind in "iu" and np.any(b == 0):
        raise ValueError("Integer division by zero")
    return np.fmod(a, b, dtype=a.dtype)


@KERNELS.define("FloorMod")
def floor_mod(a, b):
    if a.dtype.kind in "iu":
        if np.any(b == 0):
            raise ValueError("Integer division by zero")
        return np.mod(a, b, dtype=a.dtype)
    return np.mod(a, b, dtype=a.dtype)
