"""Gradients of the reductions: the output gradient spread back over the reduced axes."""
from __future__ import annotations

from engine.autodiff.grad import Grad
from engine.autodiff.registry import GradientTable
from engine.kernels.resolve.values import reduction_axes
from engine.tensors import Tensor

GRADIENTS = GradientTable()


def _kept_shape(g: Grad) -> tuple[list[int], tuple[int, ...]]:
    """(reduced axes, the output's shape with them kept as 1s)."""
    axes = reduction_axes(g.inputs[1].numpy(), g.x.rank)
    return list(axes), tuple(1 if a in axes else n for a, n in enumerate(g.x.shape))


def _spread(g: Grad, value: Tensor) -> Tensor:
    _, kept = _kept_shape(g)
    return g.broadcast_to(g.reshape(value, kept), g.x.shape)


@GRADIENTS.define("Sum")
def sum_(g: Grad) -> list:
    return [_spread(g, g.dy), None]


@GRADIENTS.define("Mean")
def mean(g: Grad) -> list:
    axes, _ = _kept_shape(g)
    count = 1
    for a in axes:
        count *= g.x.shape[a]
    return [_spread(g, g.run("Mul", g.dy, 1.0 / max(count, 1))), None]


@GRADIENTS.define("Max", "Min")
def extremum(g: Grad) -> list:
    """Shared evenly by the positions that hold the extremum (TensorFlow's reduce_max gradient)."""
    hits = g.run("Cast", g.run("Equal", g.x, _spread(g, g.y)), DstT="float32")
    axes, _ = _kept_shape(g)
    counts = _spread(g, g.run("Sum", hits, axes, keep_dims=True))
    return [g.run("Mul", g.run("RealDiv", hits, counts), _spread(g, g.dy)), None]
