"""Normalization layers: BatchNormalization (inference: moving statistics folded into one
multiply-add), LayerNormalization (Keras 3's rms_scaling too), RMSNormalization, UnitNormalization."""
from __future__ import annotations

import numpy as np

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.core import single
from engine.layers.registry import LayerContext, layer


def weight_array(ctx: LayerContext, final: str, sub_scope: str | None = None,
                 required: bool = True) -> np.ndarray | None:
    """The value of the layer's weight named `final` (last name component), as float32, without
    adding it to the graph (for constants folded at build time)."""
    for name in ctx.weight_names(sub_scope):
        if name.rsplit("/", 1)[-1].split(":")[0] == final:
            return np.asarray(ctx.weights.arrays[name], np.float32)
    if required:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): no weight named {final} in the manifest")
    return None


def axes_of(ctx: LayerContext, x: Sym, default=-1) -> list[int]:
    """The config's axis (an int or a list), as sorted non-negative axes of `x`."""
    axis = ctx.get("axis", default)
    axes = sorted({int(a) % x.rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])})
    if not axes:
        raise ModelFormatError(f"layer {ctx.name!r}: cannot normalize over axes {axis} of a rank-{x.rank} input")
    return axes


def broadcastable(value: np.ndarray, x: Sym, axes: list[int]) -> np.ndarray:
    """A per-feature parameter shaped to broadcast against `x` (features on `axes`). A parameter
    over the last axis alone stays a vector; tf_keras stores multi-axis parameters already
    broadcast-shaped (1 on the other axes)."""
    shape = [x.shape[a] for a in axes]
    if value.ndim == x.rank:
        return value
    if value.size != int(np.prod(shape)):
        raise ModelFormatError(f"parameter of shape {value.shape} does not match axes {axes} of input {x.shape}")
    if axes == [x.rank - 1]:
        return value.reshape(shape)
    full = [1] * x.rank
    for a in axes:
        full[a] = x.shape[a]
    return value.reshape(full)


@layer("BatchNormalization", "SyncBatchNormalization")
def batch_normalization(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Inference: y = x * scale + offset, scale = gamma / sqrt(moving_variance + epsilon) and
    offset = beta - moving_mean * scale computed here once (renorm / virtual batches / momentum only
    matter in training)."""
    x = single(inputs, ctx)
    axes = axes_of(ctx, x)
    epsilon = float(ctx.get("epsilon", 1e-3))
    if ctx.training and not ctx.frozen:
        return _batch_normalization_training(ctx, x, axes, epsilon)
    mean = weight_array(ctx, "moving_mean")
    variance = weight_array(ctx, "moving_variance")
    gamma = weight_array(ctx, "gamma") if ctx.get("scale", True) else None
    beta = weight_array(ctx, "beta") if ctx.get("center", True) else None
    scale = (1.0 / np.sqrt(variance.astype(np.float64) + epsilon)).astype(np.float32)
    if gamma is not None:
        scale = scale * gamma
    offset = -mean * scale
    if beta is not None:
        offset = offset + beta
    y = ctx.op("Mul", [x, ctx.g.const(broadcastable(scale, x, axes), f"{ctx.name}/scale")])
    return ctx.op("AddV2", [y, ctx.g.const(broadcastable(offset, x, axes), f"{ctx.name}/offset")])


def _batch_normalization_training(ctx: LayerContext, x: Sym, axes: list[int], epsilon: float) -> Sym:
    """Training: (x - mean) / sqrt(variance + epsilon) * gamma + beta with the batch's mean and
    (biased) variance over every axis but the features', gamma and beta as ops' inputs."""
    g = ctx.g
    reduced = g.ints([a for a in range(x.rank) if a not in axes], "reduction_axes")
    mean = ctx.op("Mean", [x, reduced], {"keep_dims": True})
    variance = ctx.op("Mean", [ctx.op("SquaredDifference", [x, mean]), reduced], {"keep_dims": True})
    inv = ctx.op("Rsqrt", [ctx.op("AddV2", [variance, g.const(np.float32(epsilon), "epsilon")])])
    if ctx.get("scale", True):
        inv = ctx.op("Mul", [inv, _feature_weight(ctx, x, axes, "gamma")])
    y = ctx.op("Mul", [ctx.op("Sub", [x, mean]), inv])
    if ctx.get("center", True):
        y = ctx.op("AddV2", [y, _feature_weight(ctx, x, axes, "beta")])
    momentum = float(ctx.get("momentum", 0.99))
    for final, batch_value in (("moving_mean", mean), ("moving_variance", variance)):
        _moving_average(ctx, final, batch_value, momentum)
    return y


def _moving_average(ctx: LayerContext, final: str, batch_value: Sym, momentum: float) -> None:
    """Keras's update of a moving statistic: moving * momentum + batch * (1 - momentum)."""
    name = ctx.weight_name(final)
    moving = ctx.weight(final)
    batch_value = ctx.op("Reshape", [batch_value, ctx.g.ints(list(moving.shape))])
    kept = ctx.op("Mul", [moving, ctx.g.const(np.float32(momentum), "momentum")])
    ctx.g.state_updates[name] = ctx.op("AddV2", [kept, ctx.op("Mul", [batch_value, ctx.g.const(
        np.float32(1 - momentum), "one_minus_momentum")])])


def _feature_weight(ctx: LayerContext, x: Sym, axes: list[int], final: str) -> Sym:
    """The weight as a graph input, reshaped to broadcast over x when its features are not the last axis."""
    weight = ctx.weight(final)
    if axes == [x.rank - 1] or weight.rank == x.rank:
        return weight
    shape = [x.shape[a] if a in axes else 1 for a in range(x.rank)]
    return ctx.op("Reshape", [weight, ctx.g.ints(shape)])


def _param(ctx: LayerContext, x: Sym, axes: list[int], name: str) -> Sym:
    if ctx.training:
        return _feature_weight(ctx, x, axes, name)
    return ctx.g.const(broadcastable(weight_array(ctx, name), x, axes), f"{ctx.name}/{name}")


@layer("LayerNormalization")
def layer_normalization(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta over `axis`; Keras 3's rms_scaling
    (deprecated there) is x / sqrt(variance + epsilon) * gamma, without centering or beta."""
    x = single(inputs, ctx)
    axes = axes_of(ctx, x)
    g = ctx.g
    epsilon = g.const(np.float32(ctx.get("epsilon", 1e-3)), "epsilon")
    axis = g.ints(axes, "axis")
    mean = ctx.op("Mean", [x, axis], {"keep_dims": True})
    variance = ctx.op("Mean", [ctx.op("SquaredDifference", [x, mean]), axis], {"keep_dims": True})
    inv = ctx.op("Rsqrt", [ctx.op("AddV2", [variance, epsilon])])
    if ctx.get("scale", True):
        inv = ctx.op("Mul", [inv, _param(ctx, x, axes, "gamma")])
    if ctx.get("rms_scaling", False):
        return ctx.op("Mul", [x, inv])
    y = ctx.op("Mul", [ctx.op("Sub", [x, mean]), inv])
    if ctx.get("center", True):
        y = ctx.op("AddV2", [y, _param(ctx, x, axes, "beta")])
    return y


@layer("RMSNormalization")
def rms_normalization(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """Keras 3: x / sqrt(mean(x^2) + epsilon) * scale."""
    x = single(inputs, ctx)
    axes = axes_of(ctx, x)
    g = ctx.g
    mean_square = ctx.op("Mean", [ctx.op("Square", [x]), g.ints(axes, "axis")], {"keep_dims": True})
    inv = ctx.op("Rsqrt", [ctx.op("AddV2", [mean_square, g.const(np.float32(ctx.get("epsilon", 1e-6)), "epsilon")])])
    y = ctx.op("Mul", [x, inv])
    scale = weight_array(ctx, "scale", required=False)
    if scale is not None:
        y = ctx.op("Mul", [y, _param(ctx, x, axes, "scale")])
    return y


@layer("UnitNormalization")
def unit_normalization(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    """x / ||x|| over `axis`: tf_keras's l2_normalize clamps the squared norm at 1e-12, Keras 3 the
    inverse norm at 1e12 (the squared norm at 1e-24)."""
    x = single(inputs, ctx)
    axes = axes_of(ctx, x)
    squares = ctx.op("Sum", [ctx.op("Square", [x]), ctx.g.ints(axes, "axis")], {"keep_dims": True})
    floor = ctx.g.const(np.float32(1e-24 if ctx.keras3 else 1e-12), "floor")
    return ctx.op("Mul", [x, ctx.op("Rsqrt", [ctx.op("Maximum", [squares, floor])])])
