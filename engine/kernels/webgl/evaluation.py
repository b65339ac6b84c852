"""GL kernels of the evaluation family (shaders/evaluation/): TopKV2, LowerBound and UpperBound.

TopKV2 is a merge sort on candidate indices, one draw per level: each row, padded to a power of two,
is merged bottom-up in blocks of 1, 2, 4, ... up to k rounded up to a power of two; from then on each
pass merges pairs of blocks keeping only the better half, which halves the row, until one block is
left: log2(n) draws, each output finding its candidate by a binary search of the two blocks it
merges (TF.js runs a bitonic network instead, about log2(k)^2 / 2 + log2(n / k) * (log2(k) + 1)
draws). The order is the CPU kernel's (larger first, NaN above +inf, ties by lower index); int32
values are compared as the floats they are stored as on the GPU (exact up to 2^24), as in TF.js.

LowerBound and UpperBound (TensorFlow's SearchSorted) run one fragment per value, bisecting its row of
sorted values, as TF.js's WebGL backend; values compare as floats, so int32 ones are exact below 2**24.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.evaluation import check_top_k
from engine.kernels.resolve.search_sorted import check_search
from engine.kernels.webgl.common import empty, require_gl_dtypes, reshaped, scalar, view
from engine.kernels.webgl.creation import fill
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program
from engine.webgl.textures import FLOAT_EXACT

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

_RANK = "evaluation/top_k_rank.glsl"
_MERGE = "evaluation/top_k_merge.glsl"
_TAKE = "evaluation/top_k_take.glsl"


def _power_of_two_at_least(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def sorted_candidates(backend: WebGLBackend, rows: Tensor, k: int) -> Tensor:
    """(batch, K) indices into the rows of `rows` (batch, n), best first, K = k rounded up to a power of two."""
    batch, n = rows.shape
    block, length = _power_of_two_at_least(k), _power_of_two_at_least(n)
    if length == 1:
        return fill(backend, (batch, 1), 0.0, "int32")
    candidates: Tensor | None = None
    merged = 1
    while merged < block or length > block:
        first = candidates is None
        out_block = min(2 * merged, block)
        length = length // (2 * merged) * out_block
        program = Program(_MERGE, (_RANK, _MERGE), ("A",) if first else ("A", "I"), {"FIRST_PASS": first},
                          {"u_rowSize": n, "u_inBlock": merged, "u_outBlock": out_block}, shape_uniforms=True)
        result = backend.run_program(program, [rows] if first else [rows, candidates], (batch, length), "int32")
        if not first:
            candidates.dispose()
        candidates, merged = result, out_block
    return candidates


@KERNELS.define("TopKV2")
def top_k_v2(backend, x, k, *, sorted: bool = True, index_type: str = "int32"):  # noqa: A002 (TF's attr name)
    """Sorted whatever `sorted` says, as the CPU kernel."""
    k = scalar(k)
    check_top_k(x.shape, k)
    out_shape = (*x.shape[:-1], k)
    if x.size == 0 or k == 0:
        return empty(out_shape, x.dtype), empty(out_shape, "int32")
    require_gl_dtypes(x)
    if x.dtype == "bool":
        raise CPUFallback("TopKV2 on bool runs the CPU kernel")
    n = x.shape[-1]
    if _power_of_two_at_least(n) > FLOAT_EXACT:  # candidate indices travel as float32 texels
        raise CPUFallback(f"rows of {n} values have indices float32 cannot hold exactly")
    rows = view(backend, x, (x.size // n, n))
    candidates = sorted_candidates(backend, rows, k)
    values = backend.run_program(Program(_TAKE, (_TAKE,), ("A", "I"), {"VALUES": True}, shape_uniforms=True),
                                 [rows, candidates], (rows.shape[0], k), x.dtype)
    indices = backend.run_program(Program(_TAKE, (_TAKE,), ("I",), {"VALUES": False}, shape_uniforms=True),
                                  [candidates], (rows.shape[0], k), "int32")
    candidates.dispose()
    return reshaped(values, out_shape), reshaped(indices, out_shape)


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
