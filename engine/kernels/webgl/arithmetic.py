"""GL kernels of the arithmetic family (binary elementwise with broadcasting)."""
from __future__ import annotations

from engine.kernels.registry import KernelTable
from engine.kernels.webgl.common import binary
from engine.tensors import alias
from engine.webgl.program import CPUFallback

KERNELS = KernelTable()



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


@KERNELS.define("RealDiv", "Div")
def div(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/div.glsl")


@KERNELS.define("DivNoNan")
def div_no_nan(backend, a, b):
    return binary(backend, a, b, "arithmetic/div_no_nan.glsl")


@KERNELS.define("FloorDiv")
def floor_div(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/floor_div.glsl")


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
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/mod.glsl")


@KERNELS.define("FloorMod")
def floor_mod(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/floor_mod.glsl")
