"""Backward kernels of the sliding-window ops: Conv2DBackpropFilter, the depthwise convolution's
two, MaxPoolGrad and AvgPoolGrad (2-D and 3-D), under TensorFlow's names and inputs. Each walks the
window's taps (conv_util.tap_regions) as the forward kernels in convolution.py do: one vectorized
pass per tap over the outputs whose tap lands inside the input, so padding is never materialized.
Conv2DBackpropInput, the transposed convolution, is a forward layer's op and lives in convolution.py."""
from __future__ import annotations

import numpy as np

from engine.kernels.conv_util import ConvInfo, conv_info, pool_info, tap_regions
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import int_list

KERNELS = KernelTable()


def _channels_last(x: np.ndarray, info: ConvInfo) -> np.ndarray:
    return x if info.channels_last else np.moveaxis(x, 1, -1)


def _from_channels_last(y: np.ndarray, info: ConvInfo) -> np.ndarray:
    return y if info.channels_last else np.ascontiguousarray(np.moveaxis(y, -1, 1))


def _check_backprop(out_backprop: np.ndarray, info: ConvInfo, op: str) -> None:
    if tuple(out_backprop.shape) != info.out_shape:
        raise ValueError(f"{op}: out_backprop has shape {list(out_backprop.shape)}, the forward op's output "
                         f"{list(info.out_shape)}")


@KERNELS.define("Conv2DBackpropFilter", "Conv3DBackpropFilterV2")
def conv_backprop_filter(x, filter_sizes, out_backprop, *, strides, padding: str, data_format: str = "NHWC",
                         dilations=None, explicit_paddings=()):
    """Each tap's filter slice: the input it read against the output gradient, summed over batch and
    positions."""
    sizes = int_list(filter_sizes)
    info = conv_info(x.shape, sizes, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings)
    _check_backprop(out_backprop, info, "Conv2DBackpropFilter")
    grad = np.zeros(sizes, np.result_type(x, out_backprop))
    xs, dys = _channels_last(x, info), _channels_last(out_backprop, info)
    for tap, outputs, inputs in tap_regions(info):
        grad[tap] = np.matmul(xs[inputs].reshape(-1, info.in_channels).T,
                                dys[outputs].reshape(-1, info.out_channels))
    return grad


@KERNELS.define("Conv3DBackpropInputV2")
def conv3d_backprop_input(input_sizes, filters, out_backprop, *, strides, padding: str, data_format: str = "NDHWC",
                          dilations=None):
    """Each tap's output gradients carried back through its filter slice onto the inputs it read."""
    info = conv_info(int_list(input_sizes), filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations)
    _check_backprop(out_backprop, info, "Conv3DBackpropInputV2")
    grad = np.zeros((info.batch, *info.in_size, info.in_channels), np.result_type(filters, out_backprop))
    dys = _channels_last(out_backprop, info)
    for tap, outputs, inputs in tap_regions(info):
        grad[inputs] += np.matmul(dys[outputs], filters[tap].T)
    return _from_channels_last(grad, info)


def _depthwise_info(x_shape, filter_shape, strides, padding, data_format, dilations, explicit_paddings):
    return conv_info(x_shape, filter_shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)


@KERNELS.define("DepthwiseConv2dNativeBackpropFilter")
def depthwise_backprop_filter(x, filter_sizes, out_backprop, *, strides, padding: str, data_format: str = "NHWC",
                              dilations=None, explicit_paddings=()):
    """Filter (KH, KW, C, M): output channel c * M + m read input channel c alone."""
    sizes = int_list(filter_sizes)
    info = _depthwise_info(x.shape, sizes, strides, padding, data_format, dilations, explicit_paddings)
    _check_backprop(out_backprop, info, "DepthwiseConv2dNativeBackpropFilter")
    channels, multiplier = sizes[-2:]
    grad = np.zeros(sizes, np.result_type(x, out_backprop))
    xs, dys = _channels_last(x, info), _channels_last(out_backprop, info)
    for tap, outputs, inputs in tap_regions(info):
        dy = dys[outputs].reshape(-1, channels, multiplier)
        grad[tap] = np.einsum("pc,pcm->cm", xs[inputs].reshape(-1, channels), dy)
    return grad


@KERNELS.define("DepthwiseConv2dNativeBackpropInput")
def depthwise_backprop_input(input_sizes, filters, out_backprop, *, strides, padding: str,
                             data_format: str = "NHWC", dilations=None, explicit_paddings=()):
    info = _depthwise_info(int_list(input_sizes), filters.shape, strides, padding, data_format, dilations,
                           explicit_paddings)
    _check_backprop(out_backprop, info, "DepthwiseConv2dNativeBackpropInput")
    channels, multiplier = filters.shape[-2:]
    grad = np.zeros((info.batch, *info.in_size, channels), np.result_type(filters, out_backprop))
    dys = _channels_last(out_backprop, info)
    for tap, outputs, inputs in tap_regions(info):
        dy = dys[outputs].reshape(*dys[outputs].shape[:-1], channels, multiplier)
        grad[inputs] += np.einsum("...cm,cm->...c", dy, filters[tap])
    return _from_channels_last(grad, info)


@KERNELS.define("MaxPoolGrad", "MaxPool3DGrad")
def max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding: str, data_format: str = "NHWC",
                  explicit_paddings=()):
    """Each output's gradient goes to the first position of its window (row-major) holding the max."""
    info = pool_info(orig_input.shape, ksize, strides=strides, padding=padding, data_format=data_format,
                     explicit_paddings=explicit_paddings)
    _check_backprop(grad, info, "MaxPoolGrad")
    xs, ys, dys = (_channels_last(a, info) for a in (orig_input, orig_output, grad))
    out = np.zeros(xs.shape, np.result_type(grad))
    routed = np.zeros(ys.shape, bool)
    for _, outputs, inputs in tap_regions(info):
        hit = (xs[inputs] == ys[outputs]) & ~routed[outputs]
        out[inputs] += np.where(hit, dys[outputs], 0)
        routed[outputs] |= hit
    return _from_channels_last(out, info)


@KERNELS.define("AvgPoolGrad", "AvgPool3DGrad")
def avg_pool_grad(orig_input_shape, grad, *, ksize, strides, padding: str, data_format: str = "NHWC"):
    """Each output's gradient shared evenly by its window's positions inside the input."""
    info = pool_info(int_list(orig_input_shape), ksize, strides=strides, padding=padding, data_format=data_format)
    _check_backprop(grad, info, "AvgPoolGrad")
    dys = _channels_last(grad, info)
    counts = np.zeros((1, *info.out_size, 1), np.int64)
    for _, outputs, _ in tap_regions(info):
        counts[outputs] += 1
    shares = dys / counts.astype(dys.dtype)
    out = np.zeros((info.batch, *info.in_size, info.in_channels), dys.dtype)
    for _, outputs, inputs in tap_regions(info):
        out[inputs] += shares[outputs]
    return _from_channels_last(out, info)
