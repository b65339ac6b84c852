"""Gradients of the matrix products and Transpose."""
from __future__ import annotations

import numpy as np

from engine.autodiff.grad import Grad
from engine.autodiff.gradients.fused import epilogue_grads
from engine.autodiff.registry import GradientTable
from engine.errors import GradientError
from engine.tensors import Tensor

GRADIENTS = GradientTable()


def _product_grads(g: Grad, dy: Tensor, op: str, flag_a: str, flag_b: str) -> tuple:
    """d(op(a, b)) for the four transposition cases: with c = A @ B, dA = dC @ B^T and dB = A^T @ dC,
    each written with the flags so no operand is transposed on its own."""
    a, b = g.inputs[:2]
    ta, tb = bool(g.attrs.get(flag_a, False)), bool(g.attrs.get(flag_b, False))

    def product(x, y, tx, ty):
        return g.run(op, x, y, **{flag_a: tx, flag_b: ty})
    da = db = None
    if g.wants(0):
        da = product(b, dy, tb, True) if ta else product(dy, b, False, not tb)
    if g.wants(1):
        db = product(dy, a, True, ta) if tb else product(a, dy, not ta, False)
    return da, db


@GRADIENTS.define("MatMul")
def mat_mul(g: Grad) -> list:
    return list(_product_grads(g, g.dy, "MatMul", "transpose_a", "transpose_b"))


@GRADIENTS.define("_FusedMatMul")
def fused_mat_mul(g: Grad) -> list:
    dy, extras = epilogue_grads(g)
    return [*_product_grads(g, dy, "MatMul", "transpose_a", "transpose_b"), *extras]


@GRADIENTS.define("BatchMatMul", "BatchMatMulV2")
def batch_mat_mul(g: Grad) -> list:
    """As MatMul, each gradient then summed over the batch dimensions broadcasting gave its operand."""
    a, b = g.inputs
    da, db = _product_grads(g, g.dy, "BatchMatMulV2", "adj_x", "adj_y")
    return [None if da is None else g.unbroadcast(da, a.shape), None if db is None else g.unbroadcast(db, b.shape)]


@GRADIENTS.define("Transpose")
def transpose(g: Grad) -> list:
    perm = np.asarray(g.inputs[1].numpy()).astype(np.int64) % max(g.x.rank, 1)
    return [g.run("Transpose", g.dy, np.argsort(perm).astype(np.int32).tolist()), None]


@GRADIENTS.define("Einsum")
def einsum(g: Grad) -> list:
    """Two operands without ellipses (the Dot layer's): each operand's gradient is the einsum of dy
    with the other operand into its labels, which covers every label that the operand shares with
    the output or the other operand (one it alone has was summed away: that would need a broadcast)."""
    equation = g.attrs["equation"].replace(" ", "")
    operands, output = equation.split("->")
    labels = operands.split(",")
    if len(labels) != 2 or "." in equation or any(len(set(part)) != len(part) for part in labels):
        raise GradientError(f"no gradient for Einsum {equation!r} (two operands, no ellipsis or repeated label)")
    grads = []
    for index, (mine, other) in enumerate(((labels[0], labels[1]), (labels[1], labels[0]))):
        if not g.wants(index):
            grads.append(None)
            continue
        if not set(mine) <= set(output) | set(other):
            raise GradientError(f"no gradient for Einsum {equation!r}: a label only operand {index} has")
        operand = g.inputs[1 - index]
        grads.append(g.run("Einsum", g.dy, operand, equation=f"{output},{other}->{mine}", N=2))
    return grads
