"""Registers every family's gradient table: the one place that decides which ops can be
differentiated (as tfjs-core's register_all_gradients.ts)."""
from __future__ import annotations

from engine.autodiff import registry
from engine.autodiff.gradients import (
    arithmetic,
    basic_math,
    convolution,
    matrices,
    normalization,
    reduction,
    transformation,
)

FAMILIES = (arithmetic, basic_math, convolution, matrices, normalization, reduction, transformation)

for _module in FAMILIES:
    registry.register(_module.GRADIENTS)
