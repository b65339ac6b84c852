"""Matrix ops (op_list/matrices.json): matmuls (plain, batched with broadcasting, fused), Transpose,
Einsum, MatrixBandPart and Diag, as TensorFlow. Products go through np.matmul and np.einsum, so
float32 runs on BLAS (on threads where they pay: engine.kernels.cpu.blas and openmp)."""
from __future__ import annotations

import numpy as np

from engine.kernels.cpu import openmp
from engine.kernels.cpu.fused import apply_fused_ops
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.matrices import check_band_bounds, diag_shape
from engine.kernels.resolve.values import int_list, scalar

KERNELS = KernelTable()


@KERNELS.define("MatMul")
def mat_mul(a, b, *, transpose_a: bool = False, transpose_b: bool = False):
    """MatMul's transpose flags do not conjugate complex inputs (BatchMatMul's adj_x/adj_y do)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"MatMul needs matrices, got shapes {list(a.shape)} and {list(b.shape)}")
    return openmp.matmul(a.T if transpose_a else a, b.T if transpose_b else b)


@KERNELS.define("BatchMatMul", "BatchMatMulV2")
def batch_mat_mul(x, y, *, adj_x: bool = False, adj_y: bool = False):
    """Batch dims broadcast (BatchMatMulV2's rule; V1 graphs always have equal ones)."""
    return np.matmul(_adjoint(x) if adj_x else x, _adjoint(y) if adj_y else y)


def _adjoint(matrices: np.ndarray) -> np.ndarray:
    swapped = np.swapaxes(matrices, -1, -2)
    return np.conj(swapped) if swapped.dtype.kind == "c" else swapped


@KERNELS.define("_FusedMatMul")
def fused_mat_mul(a, b, *args, transpose_a: bool = False, transpose_b: bool = False, fused_ops=(),
                  epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2):
    """MatMul followed by `fused_ops` ('BiasAdd' then an activation; 'Prelu' takes its alpha from
    the next extra input), as grappler and TF.js fuse them. As TF.js's fused matMul, operands may
    be batched (rank 3+, batch dims broadcast, transposes swap the last two dims) and the extra
    inputs broadcast onto the product."""
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"_FusedMatMul takes matrices or batches of them, not {list(a.shape)} and {list(b.shape)}")
    product = openmp.matmul(np.swapaxes(a, -1, -2) if transpose_a else a,
                            np.swapaxes(b, -1, -2) if transpose_b else b)
    return apply_fused_ops(product, fused_ops, args, epsilon=epsilon, leakyrelu_alpha=leakyrelu_alpha)


@KERNELS.define("Transpose")
def transpose(x, perm):
    return np.transpose(x, int_list(perm))


@KERNELS.define("Einsum")
def einsum(*inputs, equation: str):
    return np.einsum(equation, *inputs, optimize=len(inputs) > 1)


@KERNELS.define("MatrixBandPart")
def matrix_band_part(x, num_lower, num_upper):
    """Keeps entries with row - col <= num_lower and col - row <= num_upper in each innermost matrix;
    a negative bound keeps that whole triangle."""
    lower, upper = int(scalar(num_lower)), int(scalar(num_upper))
    check_band_bounds(lower, upper, x.shape)
    rows = np.arange(x.shape[-2])[:, None]
    cols = np.arange(x.shape[-1])[None, :]
    keep = ((lower < 0) | (rows - cols <= lower)) & ((upper < 0) | (cols - rows <= upper))
    zero = np.array(b"" if x.dtype == object else 0, x.dtype)
    return np.where(keep, x, zero)


@KERNELS.define("Diag")
def diag(diagonal):
    """A tensor of shape diagonal.shape * 2, zero but for out[i..., i...] = diagonal[i...]."""
    out_shape, n = diag_shape(diagonal.shape), diagonal.size
    out = np.zeros((n, n), diagonal.dtype)
    out[np.arange(n), np.arange(n)] = diagonal.reshape(-1)
    return out.reshape(out_shape)
