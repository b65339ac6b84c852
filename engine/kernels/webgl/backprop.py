"""GL kernels of the backprop family: the activations' and elementwise functions' backward ops, each a
binary program over (gradient, saved tensor) in TensorFlow's argument order, and BiasAddGrad, a GL
sum. The window ops' backward kernels are window_grads.py's, the resizes' image.py's."""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.webgl.common import binary
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback

KERNELS = KernelTable()

_EXP = ("basic_math/lib_exp.glsl",)


def _float(*tensors: Tensor) -> None:
    if any(t.dtype != "float32" for t in tensors):
        raise CPUFallback("backward ops are float32 on the GPU")


@KERNELS.define("ReluGrad")
def relu_grad(backend, gradients, features):
    _float(gradients, features)
    return binary(backend, gradients, features, "backprop/relu_grad.glsl")


@KERNELS.define("Relu6Grad")
def relu6_grad(backend, gradients, features):
    _float(gradients, features)
    return binary(backend, gradients, features, "backprop/relu6_grad.glsl")


@KERNELS.define("LeakyReluGrad")
def leaky_relu_grad(backend, gradients, features, *, alpha: float = 0.2):
    _float(gradients, features)
    return binary(backend, gradients, features, "backprop/leaky_relu_grad.glsl",
                  defines={"ALPHA": float(np.float32(alpha))})


@KERNELS.define("EluGrad")
def elu_grad(backend, gradients, outputs):
    _float(gradients, outputs)
    return binary(backend, gradients, outputs, "backprop/elu_grad.glsl")


@KERNELS.define("SeluGrad")
def selu_grad(backend, gradients, outputs):
    _float(gradients, outputs)
    return binary(backend, gradients, outputs, "backprop/selu_grad.glsl")


@KERNELS.define("SigmoidGrad")
def sigmoid_grad(backend, y, dy):
    _float(y, dy)
    return binary(backend, y, dy, "backprop/sigmoid_grad.glsl")


@KERNELS.define("TanhGrad")
def tanh_grad(backend, y, dy):
    _float(y, dy)
    return binary(backend, y, dy, "backprop/tanh_grad.glsl")


@KERNELS.define("SoftplusGrad")
def softplus_grad(backend, gradients, features):
    _float(gradients, features)
    return binary(backend, gradients, features, "backprop/softplus_grad.glsl", libs=_EXP)


@KERNELS.define("SoftsignGrad")
def softsign_grad(backend, gradients, features):
    _float(gradients, features)
    return binary(backend, gradients, features, "backprop/softsign_grad.glsl")


@KERNELS.define("SqrtGrad")
def sqrt_grad(backend, y, dy):
    _float(y, dy)
    return binary(backend, y, dy, "backprop/sqrt_grad.glsl")


@KERNELS.define("RsqrtGrad")
def rsqrt_grad(backend, y, dy):
    _float(y, dy)
    return binary(backend, y, dy, "backprop/rsqrt_grad.glsl")


@KERNELS.define("ReciprocalGrad", "InvGrad")
def reciprocal_grad(backend, y, dy):
    _float(y, dy)
    return binary(backend, y, dy, "backprop/reciprocal_grad.glsl")


@KERNELS.define("BiasAddGrad")
def bias_add_grad(backend, out_backprop, *, data_format: str = "NHWC"):
    """The GL Sum over every axis but the channels'."""
    if out_backprop.rank < 2:
        raise ValueError(f"BiasAddGrad needs a tensor of rank >= 2, got shape {list(out_backprop.shape)}")
    channel = 1 if data_format.upper().startswith("NC") and out_backprop.rank > 2 else out_backprop.rank - 1
    axes = Tensor(np.array([a for a in range(out_backprop.rank) if a != channel], np.int32), "int32")
    return backend.run("Sum", [out_backprop, axes], {"keep_dims": False})[0]
