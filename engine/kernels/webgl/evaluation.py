"""GL kernels of the evaluation family: LowerBound and UpperBound (TensorFlow's SearchSorted), one
fragment per value bisecting its row of sorted values, as TF.js's WebGL backend. Values compare as
floats, so int32 ones are exact below 2**24, as in TF.js."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.search_sorted import check_search
from engine.kernels.webgl.common import empty, require_gl_dtypes
from engine.kernels.webgl.creation import fill
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program
from engine.webgl.textures import FLOAT_EXACT

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()


def _search_sorted(backend: WebGLBackend, sorted_inputs: Tensor, values: Tensor, out_type: str,
                   upper: bool) -> Tensor:
    """int32 positions (int64 is stored so) of `values` in the rows of `sorted_inputs`."""
    check_search(sorted_inputs.shape, values.shape, out_type)
    require_gl_dtypes(sorted_inputs, values)
    size = sorted_inputs.shape[1]
    if size >= FLOAT_EXACT:
        raise CPUFallback(f"positions from {FLOAT_EXACT} up are not exact in float textures")
    if values.size == 0:
        return empty(values.shape, "int32")
    if size == 0:
        return fill(backend, values.shape, 0, "int32")
    program = Program("search_sorted", ("evaluation/search_sorted.glsl",), ("A", "V"), {"UPPER": upper},
                      sizes={"SORTED_SIZE": size}, loop_iterations=math.ceil(math.log2(size + 1)),
                      shape_uniforms=True)
    return backend.run_program(program, [sorted_inputs, values], values.shape, "int32")


@KERNELS.define("LowerBound")
def lower_bound(backend, sorted_inputs, values, *, out_type: str = "int32"):
    return _search_sorted(backend, sorted_inputs, values, out_type, upper=False)


@KERNELS.define("UpperBound")
def upper_bound(backend, sorted_inputs, values, *, out_type: str = "int32"):
    return _search_sorted(backend, sorted_inputs, values, out_type, upper=True)
