"""The regularization layers that add randomness in training and nothing at inference: Dropout,
SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout.

In a training graph each draws its noise from a Placeholder that engine/layers/training.py's
forward() fills per step from a seeded generator (a graph's random ops would repeat one sample
every run), so a seed reproduces a run's masks. The noise follows Keras 3: Dropout keeps an element
with probability 1 - rate and scales kept ones by 1 / (1 - rate); the spatial forms share one mask
over the spatial axes; GaussianNoise adds N(0, stddev); GaussianDropout multiplies by
N(1, sqrt(rate / (1 - rate))).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.convolutional import is_channels_first
from engine.layers.core import single
from engine.layers.registry import LayerContext, layer


@dataclass(frozen=True)
class Noise:
    """One training graph's noise input: its kind ('dropout', 'gaussian' or 'gaussian_scale'), shape
    and parameter (the rate, or the standard deviation)."""

    kind: str
    shape: tuple[int, ...]
    parameter: float

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "dropout":
            keep = rng.random(self.shape, dtype=np.float32) >= np.float32(self.parameter)
            return keep * np.float32(1 / (1 - self.parameter))
        values = rng.standard_normal(self.shape, dtype=np.float32) * np.float32(self.parameter)
        return values + np.float32(1) if self.kind == "gaussian_scale" else values


def _noise(ctx: LayerContext, shape, kind: str, parameter: float) -> Sym:
    sym = ctx.g.placeholder(f"{ctx.name}/noise", tuple(shape), "float32")
    ctx.g.noise[sym.key[0]] = Noise(kind, tuple(int(n) for n in shape), float(parameter))
    return sym


def _rate(ctx: LayerContext) -> float:
    rate = float(ctx.get("rate", 0.0))
    if not 0 <= rate < 1:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): rate must be in [0, 1), got {rate}")
    return rate


@layer("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
def dropout(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    rate = _rate(ctx)
    if not ctx.training or rate == 0:
        return x
    if ctx.spec.class_name.startswith("Spatial"):  # one mask per example and channel
        channel = 1 if is_channels_first(ctx) else x.rank - 1
        shape = [n if axis in (0, channel) else 1 for axis, n in enumerate(x.shape)]
    else:
        noise_shape = ctx.get("noise_shape")
        shape = list(x.shape) if noise_shape is None else \
            [n if given is None else int(given) for n, given in zip(x.shape, noise_shape)]
    return ctx.op("Mul", [x, _noise(ctx, shape, "dropout", rate)])


@layer("GaussianNoise")
def gaussian_noise(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    if not ctx.training:
        return x
    return ctx.op("AddV2", [x, _noise(ctx, x.shape, "gaussian", float(ctx.get("stddev")))])


@layer("GaussianDropout")
def gaussian_dropout(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    rate = _rate(ctx)
    if not ctx.training or rate == 0:
        return x
    return ctx.op("Mul", [x, _noise(ctx, x.shape, "gaussian_scale", float(np.sqrt(rate / (1 - rate))))])


@layer("AlphaDropout")
def alpha_dropout(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    x = single(inputs, ctx)
    if ctx.training and _rate(ctx) > 0:
        raise ModelFormatError(f"layer {ctx.name!r}: AlphaDropout is not supported in training")
    return x
