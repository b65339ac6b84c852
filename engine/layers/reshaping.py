"""Spatial reshaping layers: ZeroPadding1D/2D/3D (Pad), Cropping1D/2D/3D (Slice) and
UpSampling1D/2D/3D, for Keras 2 and Keras 3 configs, channels last or first.

Keras 2's ZeroPadding1D and both versions' Cropping1D and UpSampling1D have no data_format (channels
last); Keras 3's ZeroPadding1D has one.

Nearest up-sampling repeats each element (both Keras versions): channels-last 2-D images take one
ResizeNearestNeighbor, everything else a Tile between two (free) reshapes that give each repeated
axis a unit axis after it. Bilinear up-sampling is ResizeBilinear with half-pixel centers, as
tf.image.resize, which both Keras versions call; channels-first inputs are transposed around it.
"""
from __future__ import annotations

from typing import Any

from engine.errors import ModelFormatError
from engine.layers.builder import Sym
from engine.layers.convolutional import check_rank, is_channels_first, single_input, spatial_axes
from engine.layers.registry import LayerContext, layer

MAX_TILE_RANK = 6  # the WebGL backend's largest rank; Tile patterns stay within it

_RANKS = {f"{name}{n}D": n for name in ("ZeroPadding", "Cropping", "UpSampling") for n in (1, 2, 3)}


def _pairs(ctx: LayerContext, key: str, spatial: int) -> list[tuple[int, int]]:
    """(before, after) per spatial axis from Keras's forms: p; (before, after) for 1-D; one int per
    axis, or one (before, after) per axis, for 2-D and 3-D."""
    value: Any = ctx.get(key, 1 if key == "padding" else 0)
    try:
        if isinstance(value, (int, float)):
            return [(int(value), int(value))] * spatial
        value = list(value)
        if spatial == 1 and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            return [(int(value[0]), int(value[1]))]
        if len(value) == spatial:
            return [(int(v), int(v)) if isinstance(v, (int, float)) else (int(v[0]), int(v[1])) for v in value]
    except (TypeError, ValueError, IndexError):
        pass
    raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): bad {key} {ctx.get(key)!r}")


@layer("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    spatial = _RANKS[ctx.spec.class_name]
    x = single_input(ctx, inputs)
    check_rank(ctx, x, spatial + 2)
    paddings = [[0, 0] for _ in range(x.rank)]
    for axis, pair in zip(spatial_axes(x.rank, is_channels_first(ctx)), _pairs(ctx, "padding", spatial)):
        paddings[axis] = list(pair)
    return ctx.op("Pad", [x, ctx.g.ints(paddings, "paddings")])


@layer("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    spatial = _RANKS[ctx.spec.class_name]
    x = single_input(ctx, inputs)
    check_rank(ctx, x, spatial + 2)
    begin, size = [0] * x.rank, list(x.shape)
    for axis, (before, after) in zip(spatial_axes(x.rank, is_channels_first(ctx)), _pairs(ctx, "cropping", spatial)):
        if before < 0 or after < 0 or before + after >= x.shape[axis]:
            raise ModelFormatError(f"layer {ctx.name!r}: cropping {before}+{after} of an axis of size "
                                   f"{x.shape[axis]} leaves nothing")
        begin[axis], size[axis] = before, x.shape[axis] - before - after
    return ctx.op("Slice", [x, ctx.g.ints(begin, "begin"), ctx.g.ints(size, "size")])


@layer("UpSampling1D", "UpSampling2D", "UpSampling3D")
def up_sampling(ctx: LayerContext, inputs: list[Sym], kwargs: dict) -> Sym:
    spatial = _RANKS[ctx.spec.class_name]
    x = single_input(ctx, inputs)
    check_rank(ctx, x, spatial + 2)
    channels_first = is_channels_first(ctx)
    size = ctx.get("size", 2)
    sizes = [int(size)] * spatial if isinstance(size, (int, float)) else [int(s) for s in size]
    if len(sizes) == 1:
        sizes *= spatial
    if len(sizes) != spatial or min(sizes) < 1:
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): bad size {size!r}")
    interpolation = str(ctx.get("interpolation", "nearest") or "nearest").lower()
    axes = spatial_axes(x.rank, channels_first)
    if interpolation == "bilinear" and spatial == 2:
        return _resize(ctx, x, "ResizeBilinear", sizes, channels_first)
    if interpolation != "nearest":
        raise ModelFormatError(f"layer {ctx.name!r} ({ctx.spec.class_name}): interpolation {interpolation!r} "
                               f"is not supported (nearest and bilinear are)")
    if spatial == 2 and not channels_first:
        return _resize(ctx, x, "ResizeNearestNeighbor", sizes, False)
    factors = [1] * x.rank
    for axis, factor in zip(axes, sizes):
        factors[axis] = factor
    return repeat_axes(ctx, x, factors)


def _resize(ctx: LayerContext, x: Sym, op: str, sizes: list[int], channels_first: bool) -> Sym:
    if channels_first:
        x = ctx.op("Transpose", [x, ctx.g.ints([0, 2, 3, 1], "perm")])
    height, width = x.shape[1:3]
    y = ctx.op(op, [x, ctx.g.ints([height * sizes[0], width * sizes[1]], "size")],
               {"align_corners": False, "half_pixel_centers": True})
    if channels_first:
        y = ctx.op("Transpose", [y, ctx.g.ints([0, 3, 1, 2], "perm")])
    return y


def _tile_pattern(shape: tuple[int, ...], axes: list[int], factors: list[int]) -> list[list[int]]:
    """[dim, multiple] entries: each axis, with a unit axis tiled `factor` times after each of
    `axes`; neighbouring untiled axes merged."""
    entries: list[list[int]] = []
    for axis, dim in enumerate(shape):
        if entries and entries[-1][1] == 1:
            entries[-1][0] *= dim
        else:
            entries.append([dim, 1])
        if axis in axes:
            entries.append([1, factors[axis]])
    return entries


def repeat_axes(ctx: LayerContext, x: Sym, factors: list[int]) -> Sym:
    """Each element repeated factors[axis] times along each axis (numpy's repeat, axis by axis):
    Reshape, Tile, Reshape, over as many axes at once as keep the Tile's rank within MAX_TILE_RANK."""
    pending = [axis for axis, factor in enumerate(factors) if factor > 1]
    while pending:
        count = len(pending)
        while count > 1 and len(_tile_pattern(x.shape, pending[:count], factors)) > MAX_TILE_RANK:
            count -= 1
        axes, pending = pending[:count], pending[count:]
        pattern = _tile_pattern(x.shape, axes, factors)
        out_shape = [dim * (factors[axis] if axis in axes else 1) for axis, dim in enumerate(x.shape)]
        folded = ctx.op("Reshape", [x, ctx.g.ints([dim for dim, _ in pattern])])
        tiled = ctx.op("Tile", [folded, ctx.g.ints([multiple for _, multiple in pattern], "multiples")])
        x = ctx.op("Reshape", [tiled, ctx.g.ints(out_shape)])
    return x
