"""Gradients of the binary elementwise ops (broadcasting: each operand's gradient is summed back to
its shape) and of BiasAdd / AddN."""
from __future__ import annotations

from engine.autodiff.grad import Grad
from engine.autodiff.registry import GradientTable

GRADIENTS = GradientTable()


def _each(g: Grad, da, db) -> list:
    """The two operands' gradients, built only where wanted (da/db: zero-argument functions)."""
    a, b = g.inputs
    return [g.unbroadcast(da(), a.shape) if g.wants(0) else None,
            g.unbroadcast(db(), b.shape) if g.wants(1) else None]


@GRADIENTS.define("Add", "AddV2")
def add(g: Grad) -> list:
    return _each(g, lambda: g.dy, lambda: g.dy)


@GRADIENTS.define("Sub")
def sub(g: Grad) -> list:
    return _each(g, lambda: g.dy, lambda: g.run("Neg", g.dy))


@GRADIENTS.define("Mul")
def mul(g: Grad) -> list:
    a, b = g.inputs
    return _each(g, lambda: g.run("Mul", g.dy, b), lambda: g.run("Mul", g.dy, a))


@GRADIENTS.define("RealDiv", "Div")
def div(g: Grad) -> list:
    """d(a / b) = dy / b, -dy * a / b^2 (written (-dy * y) / b, y = a / b)."""
    b = g.inputs[1]
    return _each(g, lambda: g.run("RealDiv", g.dy, b),
                 lambda: g.run("RealDiv", g.run("Mul", g.run("Neg", g.dy), g.y), b))


@GRADIENTS.define("SquaredDifference")
def squared_difference(g: Grad) -> list:
    a, b = g.inputs
    twice = g.run("Mul", g.run("Sub", a, b), g.run("Mul", g.dy, 2.0))
    return _each(g, lambda: twice, lambda: g.run("Neg", twice))


@GRADIENTS.define("Maximum", "Minimum")
def extremum(g: Grad) -> list:
    """The gradient goes to a where a won (ties included, as TensorFlow), else to b."""
    a, b = g.inputs
    a_won = g.run("GreaterEqual" if g.op == "Maximum" else "LessEqual", a, b)
    zeros = g.run("ZerosLike", g.dy)
    return _each(g, lambda: g.run("SelectV2", a_won, g.dy, zeros), lambda: g.run("SelectV2", a_won, zeros, g.dy))


@GRADIENTS.define("Pow")
def pow_(g: Grad) -> list:
    """d(a^b) = dy * b * a^(b-1), dy * a^b * log(a) (0 where a <= 0, as TensorFlow)."""
    a, b = g.inputs

    def db():
        positive = g.run("Greater", a, 0.0)
        log_a = g.run("SelectV2", positive, g.run("Log", a), g.run("ZerosLike", a))
        return g.run("Mul", g.dy, g.run("Mul", g.y, log_a))
    return _each(g, lambda: g.run("Mul", g.dy, g.run("Mul", b, g.run("Pow", a, g.run("Sub", b, 1.0)))), db)


@GRADIENTS.define("BiasAdd")
def bias_add(g: Grad) -> list:
    return [g.dy, g.run("BiasAddGrad", g.dy, data_format=g.attrs.get("data_format", "NHWC"))
            if g.wants(1) else None]


@GRADIENTS.define("AddN")
def add_n(g: Grad) -> list:
    return [g.dy] * len(g.inputs)
