"""GL kernels of the arithmetic family (binary elementwise with broadcasting)."""
from __future__ import annotations

from engine.kernels.registry import register
from engine.kernels.webgl.common import binary
from engine.tensor import alias
from engine.webgl.backend import CPUFallback

WEBGL = "webgl"


@register("Add", "AddV2", backend=WEBGL)
def add(backend, a, b):
    return binary(backend, a, b, "arithmetic/add.glsl")


@register("Sub", backend=WEBGL)
def sub(backend, a, b):
    return binary(backend, a, b, "arithmetic/sub.glsl")


@register("Mul", backend=WEBGL)
def mul(backend, a, b):
    return binary(backend, a, b, "arithmetic/mul.glsl")


@register("BiasAdd", backend=WEBGL)
def bias_add(backend, value, bias, *, data_format: str = "NHWC"):
    if data_format.startswith("NC") and value.rank > 2:
        bias = alias(bias, (bias.size,) + (1,) * (value.rank - 2))  # channels on axis 1
    return binary(backend, value, bias, "arithmetic/add.glsl")


@register("AddN", backend=WEBGL)
def add_n(backend, *inputs):
    total = inputs[0]
    for x in inputs[1:]:
        total = binary(backend, total, x, "arithmetic/add.glsl")
    return total


@register("RealDiv", "Div", backend=WEBGL)
def div(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/div.glsl")


@register("DivNoNan", backend=WEBGL)
def div_no_nan(backend, a, b):
    return binary(backend, a, b, "arithmetic/div_no_nan.glsl")


@register("FloorDiv", backend=WEBGL)
def floor_div(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/floor_div.glsl")


@register("Maximum", backend=WEBGL)
def maximum(backend, a, b):
    return binary(backend, a, b, "arithmetic/maximum.glsl")


@register("Minimum", backend=WEBGL)
def minimum(backend, a, b):
    return binary(backend, a, b, "arithmetic/minimum.glsl")


@register("Pow", backend=WEBGL)
def pow_(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer powers check for negative exponents")
    return binary(backend, a, b, "arithmetic/pow.glsl")


@register("SquaredDifference", backend=WEBGL)
def squared_difference(backend, a, b):
    return binary(backend, a, b, "arithmetic/squared_difference.glsl")


@register("Mod", backend=WEBGL)
def mod(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/mod.glsl")


@register("FloorMod", backend=WEBGL)
def floor_mod(backend, a, b):
    if a.dtype == "int32":
        raise CPUFallback("integer division checks for zero divisors")
    return binary(backend, a, b, "arithmetic/floor_mod.glsl")
