"""Keras activation functions as graph ops (names as Keras 2/3 and TF.js serialize them)."""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.registry import LayerContext

UNARY = {"relu": "Relu", "relu6": "Relu6", "elu": "Elu", "selu": "Selu", "sigmoid": "Sigmoid", "tanh": "Tanh",
         "softplus": "Softplus", "softsign": "Softsign", "exponential": "Exp"}


def activation_name(value: Any) -> str:
    """'relu' | {'class_name': 'relu'} | {'config': {'name': ...}} | None -> a lower-case name."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        value = value.get("config", {}).get("name") or value.get("class_name") or "linear"
    name = str(value)
    return {"hardSigmoid": "hard_sigmoid", "hardsigmoid": "hard_sigmoid", "silu": "swish",
            "gelu_new": "gelu_tanh", "leakyRelu": "leaky_relu", "logSoftmax": "log_softmax"}.get(name, name).lower()


def apply(ctx: LayerContext, x: Sym, activation: Any, axis: int = -1) -> Sym:
    name = activation_name(activation)
    g = ctx.g
    if name == "linear":
        return x
    if name in UNARY:
        return ctx.op(UNARY[name], [x])
    if name in ("softmax", "log_softmax"):
        return softmax(ctx, x, axis, log=name == "log_softmax")
    if name == "swish":
        return ctx.op("Mul", [x, ctx.op("Sigmoid", [x])])
    if name == "hard_sigmoid":
        # Keras 3 (and TF.js's tf.keras 3 ports): relu6(x + 3) / 6; Keras 2 and TF.js: 0.2 x + 0.5, clipped
        slope, shift = (1 / 6, 0.5) if ctx.keras3 else (0.2, 0.5)
        scaled = ctx.op("AddV2", [ctx.op("Mul", [x, g.const(np.float32(slope))]), g.const(np.float32(shift))])
        return ctx.op("ClipByValue", [scaled, g.const(np.float32(0)), g.const(np.float32(1))])
    if name in ("hard_swish", "hard_silu"):
        return ctx.op("Mul", [x, apply(ctx, x, "hard_sigmoid")])
    if name == "gelu":
        erf = ctx.op("Erf", [ctx.op("Mul", [x, g.const(np.float32(1 / np.sqrt(2)))])])
        return ctx.op("Mul", [ctx.op("Mul", [x, g.const(np.float32(0.5))]),
                              ctx.op("AddV2", [erf, g.const(np.float32(1))])])
    if name == "gelu_tanh":
        cube = ctx.op("Mul", [ctx.op("Mul", [x, x]), x])
        inner = ctx.op("Mul", [ctx.op("AddV2", [x, ctx.op("Mul", [cube, g.const(np.float32(0.044715))])]),
                               g.const(np.float32(np.sqrt(2 / np.pi)))])
        half = ctx.op("Mul", [x, g.const(np.float32(0.5))])
        return ctx.op("Mul", [half, ctx.op("AddV2", [ctx.op("Tanh", [inner]), g.const(np.float32(1))])])
    if name == "mish":
        return ctx.op("Mul", [x, ctx.op("Tanh", [ctx.op("Softplus", [x])])])
    if name == "leaky_relu":
        return ctx.op("LeakyRelu", [x], {"alpha": 0.2})
    raise ModelFormatError(f"layer {ctx.name!r}: unknown activation {name!r}")


def softmax(ctx: LayerContext, x: Sym, axis: int = -1, log: bool = False) -> Sym:
    """Softmax over any axis: the Softmax op works on the last one, so other axes are moved there."""
    op = "LogSoftmax" if log else "Softmax"
    axis = axis % x.rank
    if axis == x.rank - 1:
        return ctx.op(op, [x])
    perm = [i for i in range(x.rank) if i != axis] + [axis]
    moved = ctx.op(op, [ctx.op("Transpose", [x, ctx.g.ints(perm, "perm")])])
    return ctx.op("Transpose", [moved, ctx.g.ints(np.argsort(perm), "perm")])
