"""GL kernels of the window ops' backward ops: AvgPoolGrad and MaxPoolGrad (2-D and 3-D) and
DepthwiseConv2dNativeBackpropInput gathered per input position, as Conv2DBackpropInput's program
(convolution.py); Conv2DBackpropFilter, Conv3DBackpropFilterV2 and the depthwise filter gradient one
filter element per fragment, looping over the batch and the output positions. Geometry reaches the
shaders as the forward kernels' defines (convolution.py's helpers); a loop longer than the driver
allows hands the op to its CPU kernel (engine/kernels/cpu/window_grads.py)."""
from __future__ import annotations

from math import prod

import numpy as np

from engine.kernels.conv_util import ConvInfo, conv_info, pool_info
from engine.kernels.registry import KernelTable
from engine.kernels.webgl.common import ints
from engine.kernels.webgl.convolution import (
    _coord_defines, _require_float, _tensor_defines, _three, _window_defines, backprop_input_tensor,
)
from engine.tensors import Tensor
from engine.webgl.program import Program

KERNELS = KernelTable()


def _check_backprop(out_backprop: Tensor, info: ConvInfo, op: str) -> None:
    if tuple(out_backprop.shape) != info.out_shape:
        raise ValueError(f"{op}: out_backprop has shape {list(out_backprop.shape)}, the forward op's output "
                         f"{list(info.out_shape)}")


def _zeros(shape) -> Tensor:
    """The gradient where nothing flows (an empty input or output): no texture, no program."""
    return Tensor(np.zeros(tuple(shape), np.float32), "float32")


def _gather_defines(info: ConvInfo) -> dict:
    """For programs with one fragment per input position: its coordinates, the window, the output
    sizes and the output gradient's strides."""
    macros, divisors = _coord_defines(info.batch, info.in_channels, info.in_size, info.channels_last)
    out_d, out_h, out_w = _three(info.out_size, 1)
    return {**_window_defines(info), "OUT_D": out_d, "OUT_H": out_h, "OUT_W": out_w, **macros, **divisors,
            **_tensor_defines("DY", info.batch, info.out_channels, info.out_size, info.channels_last)}


@KERNELS.define("AvgPoolGrad", "AvgPool3DGrad")
def avg_pool_grad(backend, orig_input_shape, grad, *, ksize, strides, padding: str, data_format: str = "NHWC"):
    _require_float(grad)
    info = pool_info(ints(orig_input_shape), ksize, strides=strides, padding=padding, data_format=data_format)
    _check_backprop(grad, info, "AvgPoolGrad")
    if info.is_empty or prod(info.in_shape) == 0:
        return _zeros(info.in_shape)
    program = Program("avg_pool_grad", ("backprop/avg_pool_grad.glsl",), ("Dy",), _gather_defines(info),
                      loop_iterations=prod(info.window))
    return backend.run_program(program, [grad], info.in_shape, "float32")


@KERNELS.define("MaxPoolGrad", "MaxPool3DGrad")
def max_pool_grad(backend, orig_input, orig_output, grad, *, ksize, strides, padding: str,
                  data_format: str = "NHWC", explicit_paddings=()):
    _require_float(orig_input, orig_output, grad)
    info = pool_info(orig_input.shape, ksize, strides=strides, padding=padding, data_format=data_format,
                     explicit_paddings=explicit_paddings)
    _check_backprop(grad, info, "MaxPoolGrad")
    if tuple(orig_output.shape) != info.out_shape:
        raise ValueError(f"MaxPoolGrad: orig_output has shape {list(orig_output.shape)}, the pool's output "
                         f"{list(info.out_shape)}")
    if info.is_empty or prod(info.in_shape) == 0:
        return _zeros(info.in_shape)
    defines = {**_gather_defines(info),
               **_tensor_defines("X", info.batch, info.in_channels, info.in_size, info.channels_last)}
    program = Program("max_pool_grad", ("backprop/max_pool_grad.glsl",), ("X", "Y", "Dy"), defines,
                      loop_iterations=prod(info.window) ** 2)
    return backend.run_program(program, [orig_input, orig_output, grad], info.in_shape, "float32")


def _filter_grad(backend, x: Tensor, sizes: list[int], out_backprop: Tensor, info: ConvInfo, depthwise: bool,
                 op: str) -> Tensor:
    _check_backprop(out_backprop, info, op)
    if info.is_empty or prod(sizes) == 0 or x.size == 0:
        return _zeros(sizes)
    out_d, out_h, out_w = _three(info.out_size, 1)
    defines = {**_window_defines(info), "BATCH": info.batch, "OUT_D": out_d, "OUT_H": out_h, "OUT_W": out_w,
               "FILTER_IN": sizes[-2], "FILTER_OUT": sizes[-1], "DEPTHWISE": depthwise,
               **_tensor_defines("X", info.batch, info.in_channels, info.in_size, info.channels_last),
               **_tensor_defines("DY", info.batch, info.out_channels, info.out_size, info.channels_last)}
    program = Program("conv_backprop_filter", ("backprop/conv_backprop_filter.glsl",), ("X", "Dy"), defines,
                      loop_iterations=info.batch * prod(info.out_size))
    return backend.run_program(program, [x, out_backprop], sizes, "float32")


@KERNELS.define("Conv2DBackpropFilter", "Conv3DBackpropFilterV2")
def conv_backprop_filter(backend, x, filter_sizes, out_backprop, *, strides, padding: str,
                         data_format: str = "NHWC", dilations=None, explicit_paddings=()):
    _require_float(x, out_backprop)
    sizes = ints(filter_sizes)
    info = conv_info(x.shape, sizes, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings)
    return _filter_grad(backend, x, sizes, out_backprop, info, False, "Conv2DBackpropFilter")


@KERNELS.define("Conv3DBackpropInputV2")
def conv3d_backprop_input(backend, input_sizes, filters, out_backprop, *, strides, padding: str,
                          data_format: str = "NDHWC", dilations=None):
    """Conv2DBackpropInput's program (convolution/backprop_input.glsl is 3-D throughout)."""
    _require_float(filters, out_backprop)
    info = conv_info(ints(input_sizes), filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations)
    _check_backprop(out_backprop, info, "Conv3DBackpropInputV2")
    return backprop_input_tensor(backend, filters, out_backprop, info)


@KERNELS.define("DepthwiseConv2dNativeBackpropFilter")
def depthwise_backprop_filter(backend, x, filter_sizes, out_backprop, *, strides, padding: str,
                              data_format: str = "NHWC", dilations=None, explicit_paddings=()):
    _require_float(x, out_backprop)
    sizes = ints(filter_sizes)
    info = conv_info(x.shape, sizes, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    return _filter_grad(backend, x, sizes, out_backprop, info, True, "DepthwiseConv2dNativeBackpropFilter")


@KERNELS.define("DepthwiseConv2dNativeBackpropInput")
def depthwise_backprop_input(backend, input_sizes, filters, out_backprop, *, strides, padding: str,
                             data_format: str = "NHWC", dilations=None, explicit_paddings=()):
    _require_float(filters, out_backprop)
    info = conv_info(ints(input_sizes), filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    _check_backprop(out_backprop, info, "DepthwiseConv2dNativeBackpropInput")
    if info.is_empty or prod(info.in_shape) == 0:
        return _zeros(info.in_shape)
    multiplier = filters.shape[-1]
    program = Program("depthwise_backprop_input", ("backprop/depthwise_backprop_input.glsl",), ("Dy", "W"),
                      {**_gather_defines(info), "MULTIPLIER": multiplier},
                      loop_iterations=prod(info.window) * multiplier)
    return backend.run_program(program, [out_backprop, filters], info.in_shape, "float32")
