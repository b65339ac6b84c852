"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""
from __future__ import annotations

import string

import numpy as np

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.registry import LayerContext, layer

_PAIRWISE = {"Add": "AddV2", "Multiply": "Mul", "Maximum": "Maximum", "Minimum": "Minimum"}


def _fold(ctx: LayerContext, op: str, inputs: list[Sym]) -> Sym:
    result = inputs[0]
    for x in inputs[1:]:
        result = ctx.op(op, [result, x])
    return result


@layer(*_PAIRWISE)
def pairwise(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return _fold(ctx, _PAIRWISE[ctx.spec.class_name], inputs)


@layer("Subtract")
def subtract(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    if len(inputs) != 2:
        raise ModelFormatError(f"layer {ctx.name!r} (Subtract) takes two inputs, got {len(inputs)}")
    return ctx.op("Sub", inputs)


@layer("Average")
def average(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return ctx.op("Mul", [_fold(ctx, "AddV2", inputs), ctx.g.const(np.float32(1.0 / len(inputs)))])


@layer("Concatenate")
def concatenate(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return ctx.op("ConcatV2", [*inputs, ctx.g.ints(ctx.get("axis", -1), "axis")], {"N": len(inputs)})


@layer("Dot")
def dot(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Batched dot product over one axis of each input (Keras's Dot), as an Einsum."""
    x, y = inputs
    axes = ctx.get("axes", -1)
    axes = [axes, axes] if isinstance(axes, int) else list(axes)
    axes = [a % s.rank for a, s in zip(axes, (x, y))]
    if ctx.get("normalize", False):
        x, y = (_l2_normalize(ctx, s, a) for s, a in ((x, axes[0]), (y, axes[1])))
    letters = iter(string.ascii_lowercase[1:])
    x_labels = ["a"] + [next(letters) for _ in range(x.rank - 1)]
    y_labels = ["a"] + [next(letters) for _ in range(y.rank - 1)]
    y_labels[axes[1]] = x_labels[axes[0]]
    out = [label for i, label in enumerate(x_labels) if i != axes[0]] + \
          [label for i, label in enumerate(y_labels) if i not in (0, axes[1])]
    equation = f"{''.join(x_labels)},{''.join(y_labels)}->{''.join(out)}"
    result = ctx.op("Einsum", [x, y], {"equation": equation, "N": 2})
    if result.rank == 1:  # Keras keeps a unit dim for vector . vector
        result = ctx.op("ExpandDims", [result, ctx.g.ints(1, "axis")])
    return result


def _l2_normalize(ctx: LayerContext, x: Sym, axis: int) -> Sym:
    squares = ctx.op("Sum", [ctx.op("Square", [x]), ctx.g.ints([axis], "axis")], {"keep_dims": True})
    norm = ctx.op("Rsqrt", [ctx.op("Maximum", [squares, ctx.g.const(np.float32(1e-12))])])
    return ctx.op("Mul", [x, norm])
