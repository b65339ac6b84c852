"""GL kernels of the arithmetic family (binary elementwise with broadcasting)."""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.webgl.common import binary
from engine.tensors import Tensor, alias
from engine.webgl.program import CPUFallback

KERNELS = KernelTable()
_INT_DIVISION = "arithmetic/int_division.glsl"


@KERNELS.define("Add", "AddV2")
def add(backend, a, b):
    return binary(backend, a, b, "arithmetic/add.glsl", commutative=True)


@KERNELS.define("Sub")
def sub(backend, a, b):
    return binary(backend, a, b, "arithmetic/sub.glsl")


@KERNELS.define("Mul")
def mul(backend, a, b):
    return binary(backend, a, b, "arithmetic/mul.glsl", commutative=True)


@KERNELS.define("BiasAdd")
def bias_add(backend, value, bias, *, data_format: str = "NHWC"):
    if data_format.startswith("NC") and value.rank > 2:
        bias = alias(bias, (bias.size,) + (1,) * (value.rank - 2))  # channels on axis 1
    return binary(backend, value, bias, "arithmetic/add.glsl")


@KERNELS.define("AddN")
def add_n(backend, *inputs):
    total = inputs[0]
    for x in inputs[1:]:
        total = binary(backend, total, x, "arithmetic/add.glsl")
    return total


def _division(backend, a: Tensor, b: Tensor, shader: str) -> Tensor:
    """Integer tensors divide exactly on the GPU (as TF.js's int division) once their divisor is known
    to hold no zero, which is an error as on the CPU and in TensorFlow: a divisor still on the GPU runs
    the CPU kernel, which can check it."""
    if a.dtype != "int32":
        return binary(backend, a, b, shader)
    if not b.has_values():
        raise CPUFallback("an integer divisor on the GPU cannot be checked for zeros")
    if np.any(b.numpy() == 0):
        raise ValueError("Integer division by zero")
    return binary(backend, a, b, shader, libs=(_INT_DIVISION,))


@KERNELS.define("RealDiv", "Div")
def div(backend, a, b):
    return _division(backend, a, b, "arithmetic/div.glsl")


@KERNELS.define("DivNoNan")
def div_no_nan(backend, a, b):
    return binary(backend, a, b, "arithmetic/div_no_nan.glsl")


@KERNELS.define("FloorDiv")
def floor_div(backend, a, b):
    return _division(backend, a, b, "arithmetic/floor_div.glsl")


@KERNELS.define("Maximum")
def maximum(backend, a, b):
    return binary(backend, a, b, "arithmetic/maximum.glsl")


@KERNELS.define("Minimum")
def minimum(backend, a, b):
    return binary(backend, a, b, "arithmetic/minimum.glsl")


@KERNELS.define("Pow")
def pow_(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer powers check for negative exponents")
    return binary(backend, a, b, "arithmetic/pow.glsl")


@KERNELS.define("SquaredDifference")
def squared_difference(backend, a, b):
    return binary(backend, a, b, "arithmetic/squared_difference.glsl")


@KERNELS.define("Mod")
def mod(backend, a, b):
    return _division(backend, a, b, "arithmetic/mod.glsl")


@KERNELS.define("FloorMod")
def floor_mod(backend, a, b):
    return _division(backend, a, b, "arithmetic/floor_mod.glsl")
