"""Gradients of Softmax and LogSoftmax (over the last axis) and LRN."""
from __future__ import annotations

from engine.autodiff.grad import Grad
from engine.autodiff.registry import GradientTable

GRADIENTS = GradientTable()


@GRADIENTS.define("Softmax")
def softmax(g: Grad) -> list:
    """(dy - sum(dy * y)) * y, the sum over the last axis."""
    last = [g.y.rank - 1]
    weighted = g.run("Sum", g.run("Mul", g.dy, g.y), last, keep_dims=True)
    return [g.run("Mul", g.run("Sub", g.dy, weighted), g.y)]


@GRADIENTS.define("LogSoftmax")
def log_softmax(g: Grad) -> list:
    """dy - exp(y) * sum(dy), the sum over the last axis."""
    total = g.run("Sum", g.dy, [g.y.rank - 1], keep_dims=True)
    return [g.run("Sub", g.dy, g.run("Mul", g.run("Exp", g.y), total))]


@GRADIENTS.define("LRN")
def lrn(g: Grad) -> list:
    attrs = {name: g.attrs[name] for name in ("depth_radius", "bias", "alpha", "beta") if name in g.attrs}
    return [g.run("LRNGrad", g.dy, g.x, g.y, **attrs)]
