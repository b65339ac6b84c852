"""Registers every kernel family's table under its backend: the one place that decides what each
backend runs (as TF.js's register_all_kernels.ts). Modules that run kernels import this one."""
from __future__ import annotations

from engine.kernels import registry
from engine.kernels.cpu import (
    arithmetic,
    backprop,
    basic_math,
    control,
    convolution,
    creation,
    dynamic,
    elementwise_chain,
    evaluation,
    hash_table,
    image,
    logical,
    matrices,
    normalization,
    ragged,
    reduction,
    separable,
    slice_join,
    sparse,
    spectral,
    string,
    transformation,
    window_grads,
)
from engine.kernels.neutral import functions, graph
from engine.kernels.webgl import arithmetic as gl_arithmetic
from engine.kernels.webgl import backprop as gl_backprop
from engine.kernels.webgl import basic_math as gl_basic_math
from engine.kernels.webgl import convolution as gl_convolution
from engine.kernels.webgl import creation as gl_creation
from engine.kernels.webgl import evaluation as gl_evaluation
from engine.kernels.webgl import image as gl_image
from engine.kernels.webgl import logical as gl_logical
from engine.kernels.webgl import matrices as gl_matrices
from engine.kernels.webgl import normalization as gl_normalization
from engine.kernels.webgl import reduction as gl_reduction
from engine.kernels.webgl import slice_join as gl_slice_join
from engine.kernels.webgl import spectral as gl_spectral
from engine.kernels.webgl import transformation as gl_transformation
from engine.kernels.webgl import window_grads as gl_window_grads

FAMILIES = {
    "cpu": (arithmetic, backprop, basic_math, control, convolution, creation, dynamic, elementwise_chain, evaluation,
            hash_table, image,
            logical, matrices, normalization, ragged, reduction, separable, slice_join, sparse, spectral, string,
            transformation,
            window_grads),
    registry.BACKEND_NEUTRAL: (functions, graph),
    "webgl": (gl_arithmetic, gl_backprop, gl_basic_math, gl_convolution, gl_creation, gl_evaluation, gl_image,
              gl_logical, gl_matrices, gl_normalization, gl_reduction, gl_slice_join, gl_spectral, gl_transformation,
              gl_window_grads),
}

for _backend, _modules in FAMILIES.items():
    for _module in _modules:
        registry.register(_module.KERNELS, _backend)
registry.register(dynamic.LARGEST, registry.DRY_RUN)


def supported_ops() -> frozenset[str]:
    """Every op tfgl runs: a kernel's on some backend, or the graph executor's own."""
    return frozenset(registry.all_ops()) | registry.EXECUTOR_OPS
