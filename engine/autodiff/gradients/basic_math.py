"""Gradients of the elementwise functions and activations. The activations' use TensorFlow's
backward ops (ReluGrad, EluGrad, SigmoidGrad, ...), which take the output where the derivative
follows from it, as TensorFlow's own gradients do."""
from __future__ import annotations

import math

from engine.autodiff.grad import Grad
from engine.autodiff.registry import GradientTable

GRADIENTS = GradientTable()


@GRADIENTS.define("Identity", "Snapshot", "StopGradient")
def identity(g: Grad) -> list:
    return [None if g.op == "StopGradient" else g.dy]


@GRADIENTS.define("Neg")
def neg(g: Grad) -> list:
    return [g.run("Neg", g.dy)]


@GRADIENTS.define("Abs")
def abs_(g: Grad) -> list:
    return [g.run("Mul", g.dy, g.run("Sign", g.x))]


@GRADIENTS.define("Square")
def square(g: Grad) -> list:
    return [g.run("Mul", g.dy, g.run("Mul", g.x, 2.0))]


@GRADIENTS.define("Sqrt")
def sqrt(g: Grad) -> list:
    return [g.run("SqrtGrad", g.y, g.dy)]


@GRADIENTS.define("Rsqrt")
def rsqrt(g: Grad) -> list:
    return [g.run("RsqrtGrad", g.y, g.dy)]


@GRADIENTS.define("Reciprocal", "Inv")
def reciprocal(g: Grad) -> list:
    return [g.run("ReciprocalGrad", g.y, g.dy)]


@GRADIENTS.define("Exp")
def exp(g: Grad) -> list:
    return [g.run("Mul", g.dy, g.y)]


@GRADIENTS.define("Log")
def log(g: Grad) -> list:
    return [g.run("RealDiv", g.dy, g.x)]


@GRADIENTS.define("Log1p")
def log1p(g: Grad) -> list:
    return [g.run("RealDiv", g.dy, g.run("AddV2", g.x, 1.0))]


@GRADIENTS.define("Erf")
def erf(g: Grad) -> list:
    """2 / sqrt(pi) * exp(-x^2)."""
    bell = g.run("Exp", g.run("Neg", g.run("Square", g.x)))
    return [g.run("Mul", g.dy, g.run("Mul", bell, 2 / math.sqrt(math.pi)))]


@GRADIENTS.define("Relu")
def relu(g: Grad) -> list:
    return [g.run("ReluGrad", g.dy, g.y)]


@GRADIENTS.define("Relu6")
def relu6(g: Grad) -> list:
    return [g.run("Relu6Grad", g.dy, g.x)]


@GRADIENTS.define("Elu")
def elu(g: Grad) -> list:
    return [g.run("EluGrad", g.dy, g.y)]


@GRADIENTS.define("Selu")
def selu(g: Grad) -> list:
    return [g.run("SeluGrad", g.dy, g.y)]


@GRADIENTS.define("LeakyRelu")
def leaky_relu(g: Grad) -> list:
    return [g.run("LeakyReluGrad", g.dy, g.x, alpha=float(g.attrs.get("alpha", 0.2)))]


@GRADIENTS.define("Sigmoid")
def sigmoid(g: Grad) -> list:
    return [g.run("SigmoidGrad", g.y, g.dy)]


@GRADIENTS.define("Tanh")
def tanh(g: Grad) -> list:
    return [g.run("TanhGrad", g.y, g.dy)]


@GRADIENTS.define("Softplus")
def softplus(g: Grad) -> list:
    return [g.run("SoftplusGrad", g.dy, g.x)]


@GRADIENTS.define("Softsign")
def softsign(g: Grad) -> list:
    return [g.run("SoftsignGrad", g.dy, g.x)]


@GRADIENTS.define("ClipByValue")
def clip_by_value(g: Grad) -> list:
    """The gradient passes where low <= x <= high (TensorFlow's clip_by_value gradient)."""
    x, low, high = g.inputs
    inside = g.run("LogicalAnd", g.run("GreaterEqual", x, low), g.run("LessEqual", x, high))
    return [g.run("SelectV2", inside, g.dy, g.run("ZerosLike", g.dy)), None, None]


@GRADIENTS.define("Prelu")
def prelu(g: Grad) -> list:
    """x > 0: dy to x; else dy * alpha to x and dy * x to alpha (summed to alpha's shape)."""
    x, alpha = g.inputs
    positive = g.run("Greater", x, 0.0)
    zeros = g.run("ZerosLike", g.dy)
    dx = g.run("SelectV2", positive, g.dy, g.run("Mul", g.dy, alpha)) if g.wants(0) else None
    d_alpha = g.unbroadcast(g.run("SelectV2", positive, zeros, g.run("Mul", g.dy, x)), alpha.shape) \
        if g.wants(1) else None
    return [dx, d_alpha]
