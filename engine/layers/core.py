"""Core layers: Dense, Activation, reshaping, Embedding, Rescaling, the activation layers, and the
no-ops (ActivityRegularization, Masking)."""
from __future__ import annotations

import numpy as np

from engine.errors import ModelFormatError
from engine.layers import activations
from engine.layers.builder import Sym
from engine.layers.registry import LayerContext, layer

INFERENCE_NO_OPS = ("ActivityRegularization", "Masking")  # the noise layers are noise.py's


def single(inputs: list[Sym], ctx: LayerContext) -> Sym:
    if len(inputs) != 1:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}) takes one input, got {len(inputs)}")
    return inputs[0]


def matmul_last_axis(ctx: LayerContext, x: Sym, kernel: Sym) -> Sym:
    """x (..., in) @ kernel (in, out): MatMul for matrices, BatchMatMulV2 (broadcasting) above."""
    return ctx.op("MatMul" if x.rank == 2 else "BatchMatMulV2", [x, kernel])


@layer("Dense")
def dense(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    y = matmul_last_axis(ctx, single(inputs, ctx), ctx.weight("kernel"))
    if ctx.get("use_bias", True):
        y = ctx.op("BiasAdd", [y, ctx.weight("bias")])
    return activations.apply(ctx, y, ctx.get("activation"))


@layer("Activation")
def activation(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return activations.apply(ctx, single(inputs, ctx), ctx.get("activation"))


@layer(*INFERENCE_NO_OPS)
def inference_no_op(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return single(inputs, ctx)


@layer("Flatten")
def flatten(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    if ctx.get("data_format") == "channels_first" and x.rank > 2:
        x = ctx.op("Transpose", [x, ctx.g.ints([0, *range(2, x.rank), 1], "perm")])
    return ctx.op("Reshape", [x, ctx.g.ints([x.shape[0], -1])])


@layer("Reshape")
def reshape(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    return ctx.op("Reshape", [x, ctx.g.ints([x.shape[0], *ctx.get("target_shape")])])


@layer("Permute")
def permute(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return ctx.op("Transpose", [single(inputs, ctx), ctx.g.ints([0, *ctx.get("dims")], "perm")])


@layer("RepeatVector")
def repeat_vector(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = ctx.op("ExpandDims", [single(inputs, ctx), ctx.g.ints(1, "axis")])
    return ctx.op("Tile", [x, ctx.g.ints([1, int(ctx.get("n")), 1], "multiples")])


@layer("Rescaling")
def rescaling(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    scaled = ctx.op("Mul", [single(inputs, ctx), ctx.g.const(np.float32(ctx.get("scale", 1.0)), "scale")])
    return ctx.op("AddV2", [scaled, ctx.g.const(np.float32(ctx.get("offset", 0.0)), "offset")])


@layer("Embedding")
def embedding(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    ids = single(inputs, ctx)
    if ids.dtype != "int32":
        ids = ctx.op("Cast", [ids], {"DstT": "int32"})
    return ctx.op("GatherV2", [ctx.weight("embeddings"), ids, ctx.g.ints(0, "axis")])


@layer("Softmax")
def softmax_layer(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    axis = ctx.get("axis", -1)
    return activations.softmax(ctx, single(inputs, ctx), axis[0] if isinstance(axis, list) else axis)


@layer("ReLU")
def relu(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """max_value, negative_slope and threshold as Keras's ReLU layer."""
    x = single(inputs, ctx)
    max_value, slope, threshold = ctx.get("max_value"), ctx.get("negative_slope", 0.0), ctx.get("threshold", 0.0)
    if not slope and not threshold:
        if max_value is None:
            return ctx.op("Relu", [x])
        if float(max_value) == 6.0:
            return ctx.op("Relu6", [x])
    g = ctx.g
    above = ctx.op("GreaterEqual", [x, g.const(np.float32(threshold))])
    below = ctx.op("Mul", [ctx.op("Sub", [x, g.const(np.float32(threshold))]), g.const(np.float32(slope))])
    y = ctx.op("SelectV2", [above, x, below])
    if max_value is not None:
        y = ctx.op("Minimum", [y, g.const(np.float32(max_value))])
    return y


@layer("LeakyReLU")
def leaky_relu(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    alpha = ctx.get("negative_slope", ctx.get("alpha", 0.3))
    return ctx.op("LeakyRelu", [single(inputs, ctx)], {"alpha": float(alpha)})


@layer("PReLU")
def prelu(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    return ctx.op("Prelu", [single(inputs, ctx), ctx.weight("alpha")])


@layer("ELU")
def elu(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x, alpha = single(inputs, ctx), float(ctx.get("alpha", 1.0))
    y = ctx.op("Elu", [x])
    if alpha == 1.0:
        return y
    positive = ctx.op("Greater", [x, ctx.g.const(np.float32(0))])
    return ctx.op("SelectV2", [positive, x, ctx.op("Mul", [y, ctx.g.const(np.float32(alpha))])])


@layer("ThresholdedReLU")
def thresholded_relu(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    above = ctx.op("Greater", [x, ctx.g.const(np.float32(ctx.get("theta", 1.0)))])
    return ctx.op("SelectV2", [above, x, ctx.g.const(np.float32(0))])
