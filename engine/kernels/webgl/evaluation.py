"""GL kernels of the evaluation family: TopKV2 (shaders/evaluation/).

TopKV2 runs a bitonic network on candidate indices, as TF.js's WebGL backend does: each row, padded
to a power of two, is sorted in blocks of k (rounded up to a power of two) that alternate direction;
then each pass halves the row, keeping the better half of every pair of blocks (a bitonic sequence),
and re-sorts the blocks, until one block is left. That is about log2(k)^2 / 2 + log2(n / k) *
(log2(k) + 1) draws, each one compare per output texel. The order is the CPU kernel's (larger first,
NaN above +inf, ties by lower index); int32 values are compared as the floats they are stored as on
the GPU (exact up to 2^24), as in TF.js.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.evaluation import check_top_k
from engine.kernels.webgl.common import empty, require_gl_dtypes, reshaped, scalar, view
from engine.kernels.webgl.creation import fill
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

MAX_EXACT_INDEX = 1 << 24  # candidate indices travel as float32 texels
_RANK = "evaluation/top_k_rank.glsl"


def _power_of_two_at_least(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def sorted_candidates(backend: WebGLBackend, rows: Tensor, k: int) -> Tensor:
    """(batch, K) indices into the rows of `rows` (batch, n), best first, K = k rounded up to a power of two."""
    batch, n = rows.shape
    block, length = _power_of_two_at_least(k), _power_of_two_at_least(n)
    if length == 1:
        return fill(backend, (batch, 1), 0.0, "int32")
    candidates: Tensor | None = None

    def draw(shader: str, uniforms: dict, out_length: int) -> None:
        nonlocal candidates
        first = candidates is None
        program = Program(shader, (_RANK, shader), ("A",) if first else ("A", "I"), {"FIRST_PASS": first},
                          {"u_rowSize": n, **uniforms}, shape_uniforms=True)
        result = backend.run_program(program, [rows] if first else [rows, candidates], (batch, out_length), "int32")
        if not first:
            candidates.dispose()
        candidates = result

    def merge(size: int, out_length: int) -> None:
        """Sorts bitonic blocks of `size`, alternately best-first and best-last."""
        stride = size // 2
        while stride:
            draw("evaluation/top_k_swap.glsl", {"u_stride": stride, "u_directionBit": size}, out_length)
            stride //= 2

    size = 2
    while size <= block:  # sorted blocks of 2, 4, ... block
        merge(size, length)
        size *= 2
    while length > block:
        length //= 2
        draw("evaluation/top_k_halve.glsl", {"u_block": block}, length)
        merge(block, length)
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
    if _power_of_two_at_least(n) > MAX_EXACT_INDEX:
        raise CPUFallback(f"rows of {n} values have indices float32 cannot hold exactly")
    rows = view(backend, x, (x.size // n, n))
    candidates = sorted_candidates(backend, rows, k)
    take = "evaluation/top_k_take.glsl"
    values = backend.run_program(Program(take, (take,), ("A", "I"), {"VALUES": True}, shape_uniforms=True),
                                 [rows, candidates], (rows.shape[0], k), x.dtype)
    indices = backend.run_program(Program(take, (take,), ("I",), {"VALUES": False}, shape_uniforms=True),
                                  [candidates], (rows.shape[0], k), "int32")
    candidates.dispose()
    return reshaped(values, out_shape), reshaped(indices, out_shape)
