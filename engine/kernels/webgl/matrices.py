"""GL kernels of the matrix family: MatMul, BatchMatMul(V2) with broadcast batch dims, _FusedMatMul
(bias / addend and activation in the shader's epilogue), Transpose, Einsum (two-operand contractions
mapped onto BatchMatMul, Transpose and Sum), MatrixBandPart and Diag.

Products loop over the shared dim in one fragment per output element, as TF.js's unpacked MatMul;
transposed operands only change the steps the loop walks, so they cost no extra pass. With packing
on, float products run packed.py's 2x2-block program instead.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.matrices import check_band_bounds, diag_shape
from engine.kernels.webgl import packed
from engine.kernels.webgl.common import (
    broadcast_shape, empty, fit_onto, ints, require_gl_dtypes, reshaped, transpose_tensor, view,
)
from engine.kernels.webgl.fused import FusedEpilogue, fused_epilogue
from engine.kernels.webgl.reduction import reduce_tensor
from engine.tensors import Tensor
from engine.webgl.compiler import strides
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()



# -- shared helpers (reduction.py and normalization.py use these too) ---------------------------------------










# -- Transpose ---------------------------------------------------------------------------------------------




@KERNELS.define("Transpose")
def transpose(backend, x, perm):
    return transpose_tensor(backend, x, ints(perm))


# -- matrix products ---------------------------------------------------------------------------------------
def _batch_index(shape: Sequence[int], out_shape: Sequence[int]) -> str:
    """GLSL for the flat batch index of an operand with batch dims `shape` at output batch `b`
    (dims of size 1 broadcast)."""
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    if math.prod(shape) <= 1:
        return "0"
    if tuple(shape) == tuple(out_shape):
        return "(b)"
    terms = []
    for i, (d, od, out_stride, stride) in enumerate(zip(shape, out_shape, strides(out_shape), strides(shape))):
        if d == 1:
            continue
        index = "(b)" if out_stride == 1 else f"((b) / {out_stride})"
        if i > 0:
            index = f"({index} % {od})"
        terms.append(index if stride == 1 else f"{index} * {stride}")
    return "(" + " + ".join(terms) + ")"


def matmul_tensor(backend: WebGLBackend, a: Tensor, b: Tensor, transpose_a: bool = False,
                  transpose_b: bool = False, epilogue: FusedEpilogue | None = None) -> Tensor:
    """np.matmul(a or a^T, b or b^T) over the last two dims, batch dims broadcast; `epilogue`
    adds fused bias / activation (its tensors read against the output (batch, M, N))."""
    require_gl_dtypes(a, b)
    if a.rank < 2 or b.rank < 2:
        raise ValueError(f"matrix products need rank >= 2, not {list(a.shape)} and {list(b.shape)}")
    ra, ca = a.shape[-2:]
    rb, cb = b.shape[-2:]
    m, k = (ca, ra) if transpose_a else (ra, ca)
    k_b, n = (cb, rb) if transpose_b else (rb, cb)
    if k != k_b:
        raise ValueError(f"Matrix size-incompatible: In[0]: {list(a.shape)}, In[1]: {list(b.shape)}")
    batch_shape = broadcast_shape(a.shape[:-2], b.shape[:-2])
    out_shape = batch_shape + (m, n)
    dtype = "int32" if a.dtype == "int32" else "float32"
    if math.prod(out_shape) == 0:
        return empty(out_shape, dtype)
    fused = epilogue is not None and not epilogue.empty
    if k <= backend.max_loop_iterations:
        result = packed.matmul(backend, a, b, transpose_a, transpose_b, epilogue if fused else None, out_shape)
        if result is not None:
            return result
    batch = math.prod(batch_shape)
    a3 = view(backend, a, (math.prod(a.shape[:-2]), ra, ca))
    b3 = view(backend, b, (math.prod(b.shape[:-2]), rb, cb))
    defines = {
        "A_BATCH(b)": _batch_index(a.shape[:-2], batch_shape), "A_BATCH_STRIDE": ra * ca,
        "A_ROW_STEP": 1 if transpose_a else ca, "A_K_STEP": ca if transpose_a else 1,
        "B_BATCH(b)": _batch_index(b.shape[:-2], batch_shape), "B_BATCH_STRIDE": rb * cb,
        "B_COL_STEP": cb if transpose_b else 1, "B_K_STEP": 1 if transpose_b else cb,
    }
    chunk = backend.max_loop_iterations
    if k > chunk:
        # A driver loop limit below the shared dim: sum partial products over slices of it, then
        # apply the epilogue in a pass of its own.
        partials = [_matmul_program(backend, a3, b3, defines, start, min(chunk, k - start), (batch, m, n), dtype)
                    for start in range(0, k, chunk)]
        result = backend.run("AddN", partials)[0]
        if fused:
            result = _epilogue_program(backend, result, epilogue)
    else:
        result = _matmul_program(backend, a3, b3, defines, 0, k, (batch, m, n), dtype, epilogue if fused else None)
    return reshaped(result, out_shape)


def _matmul_program(backend: WebGLBackend, a3: Tensor, b3: Tensor, defines: dict, k_start: int, k_count: int,
                    out_shape: tuple[int, int, int], dtype: str, epilogue: FusedEpilogue | None = None) -> Tensor:
    """Products over shared indices k_start .. k_start + k_count - 1."""
    defines = {**defines, "K_START": k_start, "SHARED_DIM": k_count}
    shaders, names, tensors, uniforms = ("matrices/matmul.glsl",), ("A", "B"), [a3, b3], None
    if epilogue is not None:
        defines.update(epilogue.defines)
        shaders = epilogue.shaders + shaders
        names += epilogue.inputs
        tensors += list(epilogue.tensors)
        uniforms = epilogue.uniforms
    program = Program("matmul", shaders, names, defines, uniforms, loop_iterations=k_count)
    return backend.run_program(program, tensors, out_shape, dtype)


def _epilogue_program(backend: WebGLBackend, x: Tensor, epilogue: FusedEpilogue) -> Tensor:
    program = Program("matmul_epilogue", epilogue.shaders + ("matrices/epilogue.glsl",), ("A",) + epilogue.inputs,
                      dict(epilogue.defines), epilogue.uniforms)
    return backend.run_program(program, [x, *epilogue.tensors], x.shape, x.dtype)


@KERNELS.define("MatMul")
def mat_mul(backend, a, b, *, transpose_a: bool = False, transpose_b: bool = False):
    if a.rank != 2 or b.rank != 2:
        raise ValueError(f"MatMul takes matrices, not {list(a.shape)} and {list(b.shape)}")
    return matmul_tensor(backend, a, b, transpose_a, transpose_b)


@KERNELS.define("BatchMatMul", "BatchMatMulV2")
def batch_mat_mul(backend, x, y, *, adj_x: bool = False, adj_y: bool = False):
    return matmul_tensor(backend, x, y, adj_x, adj_y)


@KERNELS.define("_FusedMatMul")
def fused_mat_mul(backend, a, b, *args, transpose_a: bool = False, transpose_b: bool = False, fused_ops=(),
                  epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2):
    """MatMul + `fused_ops` ('BiasAdd' / 'Add' then an activation, 'Prelu' reading its weights).
    As TF.js's fused matMul, operands may be batched (rank 3+, batch dims broadcast) and extra
    inputs take any shape that broadcasts onto the product (the official converter emits rank-2
    biases)."""
    if a.rank < 2 or b.rank < 2:
        raise ValueError(f"_FusedMatMul takes matrices or batches of them, not {list(a.shape)} and {list(b.shape)}")
    m = a.shape[-1] if transpose_a else a.shape[-2]
    n = b.shape[-2] if transpose_b else b.shape[-1]
    out_shape = broadcast_shape(a.shape[:-2], b.shape[:-2]) + (m, n)
    epilogue = fused_epilogue(fused_ops, args, leakyrelu_alpha=leakyrelu_alpha, epsilon=epsilon,
                              align=lambda t: _onto_product(backend, t, out_shape))
    return matmul_tensor(backend, a, b, transpose_a, transpose_b, epilogue)


def _onto_product(backend: WebGLBackend, t: Tensor, out_shape: tuple[int, ...]) -> Tensor:
    """An extra input of a fused product as a tensor broadcasting onto the programs' output,
    (batch, M, N) with the batch dims flattened: one with batch dims of its own takes the
    output's (a broadcast copy where it has fewer) and flattens them the same way."""
    fitted = fit_onto(backend, t, out_shape)
    if fitted.rank <= 2:
        return fitted
    batch_shape, own = out_shape[:-2], fitted.shape[-2:]
    padded = (1,) * (len(out_shape) - fitted.rank) + fitted.shape[:-2]
    if padded != batch_shape:
        target = Tensor(np.array(batch_shape + own, np.int32), "int32")
        fitted = backend.run("BroadcastTo", [fitted, target])[0]
    return view(backend, fitted, (math.prod(batch_shape),) + own)


# -- Einsum ------------------------------------------------------------------------------------------------
def _einsum_labels(equation: str, inputs: Sequence[Tensor]) -> tuple[list[str], str]:
    """The subscripts of each input and of the output with '...' spelled out as extra labels."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs):
        raise ValueError(f"einsum {equation!r} names {len(terms)} operands, got {len(inputs)}")
    spare = [chr(c) for c in range(0x3b1, 0x3c9)]  # Greek letters never appear in an equation
    ellipsis_rank = 0
    for term, x in zip(terms, inputs):
        if "..." in term:
            ellipsis_rank = max(ellipsis_rank, x.rank - (len(term) - 3))
    extra = "".join(spare[:ellipsis_rank])
    labels = []
    for term, x in zip(terms, inputs):
        if "..." in term:
            count = x.rank - (len(term) - 3)
            if count < 0:
                raise ValueError(f"einsum operand {term!r} does not fit shape {list(x.shape)}")
            term = term.replace("...", extra[ellipsis_rank - count:])
        if len(term) != x.rank or not all(ch.isalpha() for ch in term):
            raise ValueError(f"einsum operand {term!r} does not fit shape {list(x.shape)}")
        labels.append(term)
    if arrow:
        output = rhs.replace("...", extra)
    else:
        counts = {}
        for term in labels:
            for ch in term:
                counts[ch] = counts.get(ch, 0) + 1
        output = extra + "".join(sorted(ch for ch, n in counts.items() if n == 1 and ch not in extra))
    return labels, output


def _arrange(backend: WebGLBackend, x: Tensor, labels: str, batch: list[str], first: list[str],
             second: list[str]) -> tuple[Tensor, bool]:
    """x as (batch dims..., prod(first), prod(second)), or as its transpose (flag True) when that
    needs no data movement."""
    target, swapped = batch + first + second, batch + second + first
    current, flag = list(labels), False
    if current == swapped and current != target:
        flag = True
    elif current != target:
        x = transpose_tensor(backend, x, [labels.index(ch) for ch in target])
        current = target
    own = dict(zip(current, x.shape))
    rows, cols = (second, first) if flag else (first, second)
    shape = [own[ch] for ch in batch] + [math.prod(own[ch] for ch in rows), math.prod(own[ch] for ch in cols)]
    return view(backend, x, shape), flag


def einsum_tensor(backend: WebGLBackend, inputs: Sequence[Tensor], equation: str) -> Tensor:
    """One- and two-operand einsums without repeated labels (diagonals) on the GPU."""
    if len(inputs) > 2:
        raise CPUFallback("einsums of three or more operands")
    require_gl_dtypes(*inputs)
    labels, output = _einsum_labels(equation, inputs)
    if any(len(set(term)) != len(term) for term in labels) or len(set(output)) != len(output):
        raise CPUFallback("einsum diagonals (a label repeated in one operand)")
    sizes: dict[str, int] = {}
    for term, x in zip(labels, inputs):
        for ch, d in zip(term, x.shape):
            if ch in sizes and sizes[ch] != d and 1 not in (sizes[ch], d):
                raise ValueError(f"einsum label {ch!r} has sizes {sizes[ch]} and {d}")
            sizes[ch] = d if ch not in sizes or sizes[ch] == 1 else sizes[ch]
    if any(ch not in sizes for ch in output):
        raise ValueError(f"einsum output {output!r} names a label no operand has")

    def drop(x: Tensor, term: str, keep: set) -> tuple[Tensor, str]:
        axes = [i for i, ch in enumerate(term) if ch not in keep]
        if not axes:
            return x, term
        return reduce_tensor(backend, x, axes, "Sum"), "".join(ch for ch in term if ch in keep)

    if len(inputs) == 1:
        x, term = drop(inputs[0], labels[0], set(output))
        return transpose_tensor(backend, x, [term.index(ch) for ch in output])

    (x, y), (lx, ly) = inputs, labels
    x, lx = drop(x, lx, set(output) | set(ly))
    y, ly = drop(y, ly, set(output) | set(lx))
    batch = [ch for ch in output if ch in lx and ch in ly]
    free_x = [ch for ch in output if ch in lx and ch not in ly]
    free_y = [ch for ch in output if ch in ly and ch not in lx]
    shared = [ch for ch in lx if ch in ly and ch not in output]
    for ch in shared:
        if x.shape[lx.index(ch)] != y.shape[ly.index(ch)]:
            raise CPUFallback(f"einsum broadcasts the contracted label {ch!r}")
    a, transpose_a = _arrange(backend, x, lx, batch, free_x, shared)
    b, transpose_b = _arrange(backend, y, ly, batch, shared, free_y)
    product = matmul_tensor(backend, a, b, transpose_a, transpose_b)
    batch_sizes = list(product.shape[:-2])
    product = reshaped(product, batch_sizes + [sizes[ch] for ch in free_x] + [sizes[ch] for ch in free_y])
    order = batch + free_x + free_y
    return transpose_tensor(backend, product, [order.index(ch) for ch in output])


@KERNELS.define("Einsum")
def einsum(backend, *inputs, equation: str):
    return einsum_tensor(backend, inputs, equation)


# -- MatrixBandPart ----------------------------------------------------------------------------------------
@KERNELS.define("MatrixBandPart")
def matrix_band_part(backend, x, num_lower, num_upper):
    require_gl_dtypes(x)
    lower, upper = ints(num_lower)[0], ints(num_upper)[0]
    if x.rank < 2:
        raise ValueError(f"MatrixBandPart needs a matrix, not shape {list(x.shape)}")
    check_band_bounds(lower, upper, x.shape)
    if x.size == 0:
        return empty(x.shape, x.dtype)
    rows, cols = x.shape[-2:]
    program = Program("band_part", ("matrices/band_part.glsl",), ("A",),
                      uniforms={"numLower": lower, "numUpper": upper})
    x3 = view(backend, x, (x.size // (rows * cols), rows, cols))
    return reshaped(backend.run_program(program, [x3], x3.shape, x.dtype), x.shape)


@KERNELS.define("Diag")
def diag(backend, diagonal):
    """Drawn as an (n, n) matrix over the flat diagonal, then viewed as diagonal.shape * 2."""
    out_shape, n = diag_shape(diagonal.shape), diagonal.size
    if n == 0:
        return empty(out_shape, diagonal.dtype)
    require_gl_dtypes(diagonal)
    program = Program("Diag", ("matrices/diag.glsl",), ("A",), shape_uniforms=True)
    return reshaped(backend.run_program(program, [view(backend, diagonal, (n,))], (n, n), diagonal.dtype), out_shape)
