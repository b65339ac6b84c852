"""Gradients of the convolutions and pools: TensorFlow's backward ops, with the forward op's attrs."""
from __future__ import annotations

from engine.autodiff.grad import Grad
from engine.autodiff.gradients.fused import epilogue_grads
from engine.autodiff.registry import GradientTable
from engine.tensors import Tensor

GRADIENTS = GradientTable()

_WINDOW_ATTRS = ("strides", "padding", "data_format", "dilations", "explicit_paddings")
_POOL_ATTRS = ("ksize", "strides", "padding", "data_format")


def _attrs(g: Grad, names: tuple[str, ...]) -> dict:
    return {name: g.attrs[name] for name in names if name in g.attrs}


def _conv_grads(g: Grad, dy: Tensor, input_op: str, filter_op: str) -> list:
    x, filters = g.inputs[:2]
    attrs = _attrs(g, _WINDOW_ATTRS)
    dx = g.run(input_op, list(x.shape), filters, dy, **attrs) if g.wants(0) else None
    dw = g.run(filter_op, x, list(filters.shape), dy, **attrs) if g.wants(1) else None
    return [dx, dw]


@GRADIENTS.define("Conv2D")
def conv2d(g: Grad) -> list:
    return _conv_grads(g, g.dy, "Conv2DBackpropInput", "Conv2DBackpropFilter")


@GRADIENTS.define("Conv3D")
def conv3d(g: Grad) -> list:
    return _conv_grads(g, g.dy, "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2")


@GRADIENTS.define("_FusedConv2D")
def fused_conv2d(g: Grad) -> list:
    dy, extras = epilogue_grads(g, g.attrs.get("data_format", "NHWC"))
    return [*_conv_grads(g, dy, "Conv2DBackpropInput", "Conv2DBackpropFilter"), *extras]


@GRADIENTS.define("DepthwiseConv2dNative")
def depthwise_conv2d(g: Grad) -> list:
    return _conv_grads(g, g.dy, "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter")


@GRADIENTS.define("FusedDepthwiseConv2dNative")
def fused_depthwise_conv2d(g: Grad) -> list:
    dy, extras = epilogue_grads(g, g.attrs.get("data_format", "NHWC"))
    return [*_conv_grads(g, dy, "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"),
            *extras]


@GRADIENTS.define("Conv2DBackpropInput")
def conv2d_backprop_input(g: Grad) -> list:
    """The transposed convolution (Conv2DTranspose layers): its input gradient is the forward
    convolution of dy, its filter gradient the filter gradient of that convolution."""
    _, filters, out_backprop = g.inputs
    attrs = _attrs(g, _WINDOW_ATTRS)
    d_backprop = g.run("Conv2D", g.dy, filters, **attrs) if g.wants(2) else None
    d_filter = g.run("Conv2DBackpropFilter", g.dy, list(filters.shape), out_backprop, **attrs) \
        if g.wants(1) else None
    return [None, d_filter, d_backprop]


@GRADIENTS.define("MaxPool", "MaxPool3D")
def max_pool(g: Grad) -> list:
    op = "MaxPool3DGrad" if g.op == "MaxPool3D" else "MaxPoolGrad"
    return [g.run(op, g.x, g.y, g.dy, **_attrs(g, _POOL_ATTRS))]


@GRADIENTS.define("AvgPool", "AvgPool3D")
def avg_pool(g: Grad) -> list:
    op = "AvgPool3DGrad" if g.op == "AvgPool3D" else "AvgPoolGrad"
    return [g.run(op, list(g.x.shape), g.dy, **_attrs(g, _POOL_ATTRS))]


@GRADIENTS.define("ResizeBilinear", "ResizeNearestNeighbor")
def resize(g: Grad) -> list:
    attrs = {name: bool(g.attrs.get(name, False)) for name in ("align_corners", "half_pixel_centers")}
    if g.op == "ResizeBilinear":
        return [g.run("ResizeBilinearGrad", g.dy, g.x, **attrs), None]
    return [g.run("ResizeNearestNeighborGrad", g.dy, list(g.x.shape[1:3]), **attrs), None]
