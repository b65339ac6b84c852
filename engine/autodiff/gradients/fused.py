"""The backward half of a fused epilogue (_FusedConv2D, _FusedMatMul, FusedDepthwiseConv2dNative):
the activation's gradient from the op's output, then the bias's."""
from __future__ import annotations

from engine.autodiff.grad import Grad
from engine.errors import GradientError
from engine.tensors import Tensor


def _activation_grad(g: Grad, activation: str, dy: Tensor) -> Tensor:
    """Each of these activations' derivative follows from its output alone (LeakyRelu's sign and
    Relu6's range are the input's)."""
    y = g.y
    if activation == "Relu":
        return g.run("ReluGrad", dy, y)
    if activation == "Relu6":
        return g.run("Relu6Grad", dy, y)
    if activation == "Elu":
        return g.run("EluGrad", dy, y)
    if activation == "Sigmoid":
        return g.run("SigmoidGrad", y, dy)
    if activation == "Tanh":
        return g.run("TanhGrad", y, dy)
    if activation == "LeakyRelu":
        return g.run("LeakyReluGrad", dy, y, alpha=float(g.attrs.get("leakyrelu_alpha", 0.2)))
    raise GradientError(f"{g.op}: no gradient for the fused activation {activation}")


def epilogue_grads(g: Grad, data_format: str = "NHWC") -> tuple[Tensor, list]:
    """(gradient of the product before the epilogue, [gradient of each extra input])."""
    fused_ops = [op.decode() if isinstance(op, bytes) else str(op) for op in g.attrs.get("fused_ops", ())]
    if not fused_ops:
        return g.dy, []
    if fused_ops[0] != "BiasAdd" or len(fused_ops) > 2:
        raise GradientError(f"{g.op}: no gradient for the fused ops {fused_ops} (BiasAdd and an activation have one)")
    dy = _activation_grad(g, fused_ops[1], g.dy) if len(fused_ops) == 2 else g.dy
    bias_wanted = g.wants(2)
    bias = g.run("BiasAddGrad", dy, data_format="NCHW" if data_format.startswith("NC") else "NHWC") \
        if bias_wanted else None
    return dy, [bias] + [None] * (len(g.inputs) - 3)
