"""Backward kernels of the elementwise activations and functions, and BiasAddGrad, under
TensorFlow's op names and argument orders (SigmoidGrad(y, dy) but ReluGrad(dy, features), as
tf.raw_ops has them). Their gradients are engine/autodiff/gradients/basic_math.py's."""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable

KERNELS = KernelTable()

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _masked(gradients: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """gradients times the 0/1 mask, as TensorFlow computes it (a NaN gradient stays NaN outside)."""
    return gradients * keep.astype(gradients.dtype)


@KERNELS.define("ReluGrad")
def relu_grad(gradients, features):
    return _masked(gradients, features > 0)


@KERNELS.define("Relu6Grad")
def relu6_grad(gradients, features):
    return _masked(gradients, (features > 0) & (features < 6))


@KERNELS.define("LeakyReluGrad")
def leaky_relu_grad(gradients, features, *, alpha: float = 0.2):
    return np.where(features > 0, gradients, gradients * gradients.dtype.type(alpha))


@KERNELS.define("EluGrad")
def elu_grad(gradients, outputs):
    """outputs < 0: the derivative exp(x) is outputs + 1."""
    return np.where(outputs < 0, gradients * (outputs + 1), gradients)


@KERNELS.define("SeluGrad")
def selu_grad(gradients, outputs):
    dtype = gradients.dtype.type
    return np.where(outputs < 0, gradients * (outputs + dtype(_SELU_SCALE * _SELU_ALPHA)),
                    gradients * dtype(_SELU_SCALE))


@KERNELS.define("SigmoidGrad")
def sigmoid_grad(y, dy):
    return dy * (y * (1 - y))


@KERNELS.define("TanhGrad")
def tanh_grad(y, dy):
    return dy * (1 - y * y)


@KERNELS.define("SoftplusGrad")
def softplus_grad(gradients, features):
    """TensorFlow's form, dy / (1 + exp(-x)): an infinite dy over an overflowing exp is NaN."""
    return gradients / (1 + np.exp(-features))


@KERNELS.define("SoftsignGrad")
def softsign_grad(gradients, features):
    return gradients / np.square(1 + np.abs(features))


@KERNELS.define("SqrtGrad")
def sqrt_grad(y, dy):
    return dy * y.dtype.type(0.5) / y


@KERNELS.define("RsqrtGrad")
def rsqrt_grad(y, dy):
    return dy * (y * y * y) * y.dtype.type(-0.5)


@KERNELS.define("ReciprocalGrad", "InvGrad")
def reciprocal_grad(y, dy):
    return -dy * (y * y)


@KERNELS.define("BiasAddGrad")
def bias_add_grad(out_backprop, *, data_format: str = "NHWC"):
    """The sum over every axis but the channels' (axis 1 for NCHW-style formats of rank > 2)."""
    if out_backprop.ndim < 2:
        raise ValueError(f"BiasAddGrad needs a tensor of rank >= 2, got shape {list(out_backprop.shape)}")
    channel = 1 if data_format.upper().startswith("NC") and out_backprop.ndim > 2 else out_backprop.ndim - 1
    axes = tuple(a for a in range(out_backprop.ndim) if a != channel)
    return out_backprop.sum(axis=axes, dtype=np.float64).astype(out_backprop.dtype)
