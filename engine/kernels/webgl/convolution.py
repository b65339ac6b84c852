"""GL kernels of the convolution family: Conv1D/2D/3D, _FusedConv2D, depthwise convolution (plain
and fused), Conv2DBackpropInput, Max/AvgPool (2-D and 3-D), MaxPoolWithArgmax and Dilation2D.

One fragment per output element loops over the window's taps (and, for convolutions, the input
channels), as TF.js's unpacked Conv2DProgram / Pool2DProgram. Every op is treated as 3-D: 1-D and
2-D ops get leading spatial dims of size 1, whose loops and index terms the compiler folds away.
Geometry comes from engine/kernels/conv_util.py (the CPU kernels' too) and reaches the shader as
defines (pools: sizes, uniforms when shape-generic): sizes, strides, dilations, pads, and each
tensor's flat strides per axis (N, C, D, H, W), so channels-first and channels-last data are read
in place, with no transposes. The output's coordinates are decoded from its flat index by
COORD_<axis>(i) macros (size-1 axes are 0).

With packing on, NHWC Conv2D and depthwise convolutions run packed.py's programs instead.

Fused ops reuse the matmuls' epilogue (fused.py): bias, batch norm, addend and activation applied
to each convolution sum before it is written; 1-D per-channel args of a channels-first output are
viewed as (C, 1, 1) so they broadcast along the channel axis, as the CPU kernel aligns them.
"""
from __future__ import annotations

from math import prod
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.kernels.conv_util import ConvInfo, backprop_input_info, conv_info, dilation2d_info, pool_info
from engine.kernels.registry import KernelTable
from engine.kernels.webgl import packed
from engine.kernels.webgl.common import empty, fit_onto, ints, view
from engine.kernels.webgl.fused import FusedEpilogue, fused_epilogue
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

_AXES = ("N", "C", "D", "H", "W")
_SPATIAL = ("D", "H", "W")
# Textures hold float32, so MaxPoolWithArgmax's int indexes are exact only below 2**24.
_FLOAT_EXACT = 1 << 24
POOL_MAX, POOL_AVG, POOL_DILATION, POOL_ARGMAX_VALUE, POOL_ARGMAX_INDEX = range(5)


# -- geometry as defines -------------------------------------------------------------------------------
def _three(values: Sequence[int], fill: int) -> tuple[int, ...]:
    """A per-spatial-dim tuple of 1 to 3 entries as (depth, height, width), `fill` in front."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def _sizes(batch: int, channels: int, spatial: Sequence[int]) -> dict[str, int]:
    return dict(zip(_AXES, (batch, channels, *_three(spatial, 1))))


def _flat_strides(sizes: dict[str, int], channels_last: bool) -> dict[str, int]:
    """Flat-index stride of each axis of a row-major tensor (N, *spatial, C) or (N, C, *spatial)."""
    order = ("N", "D", "H", "W", "C") if channels_last else ("N", "C", "D", "H", "W")
    out, acc = {}, 1
    for axis in reversed(order):
        out[axis] = acc if sizes[axis] != 1 else 0  # a unit axis is always read at 0
        acc *= sizes[axis]
    return out


def _tensor_defines(prefix: str, batch: int, channels: int, spatial: Sequence[int],
                    channels_last: bool) -> dict[str, int]:
    """<prefix>_STRIDE_<axis>: the flat strides of a tensor the shader reads."""
    strides = _flat_strides(_sizes(batch, channels, spatial), channels_last)
    return {f"{prefix}_STRIDE_{axis}": strides[axis] for axis in _AXES}


def _coord_defines(batch: int, channels: int, spatial: Sequence[int],
                   channels_last: bool) -> tuple[dict[str, str], dict[str, int]]:
    """COORD_<axis>(i): the output's coordinate along each axis from its flat index i (size-1 axes are
    0), and the sizes it divides by, COORD_STRIDE_<axis> and COORD_SIZE_<axis> (defines or uniforms)."""
    sizes = _sizes(batch, channels, spatial)
    strides = _flat_strides(sizes, channels_last)
    total = prod(sizes.values())
    defines, divisors = {}, {}
    for axis in _AXES:
        size, stride = sizes[axis], strides[axis]
        if size == 1:
            expr = "0"
        else:
            expr = "(i)"
            if stride != 1:
                expr, divisors[f"COORD_STRIDE_{axis}"] = f"divInt((i), COORD_STRIDE_{axis})", stride
            if stride * size != total:
                expr, divisors[f"COORD_SIZE_{axis}"] = \
                    f"({expr} - divInt({expr}, COORD_SIZE_{axis}) * COORD_SIZE_{axis})", size
        defines[f"COORD_{axis}(i)"] = expr
    return defines, divisors


def _window_defines(info: ConvInfo) -> dict[str, int]:
    """The window's sizes, strides, dilations and leading pads, and the input's spatial size."""
    defines = {"IN_CHANNELS": info.in_channels, "OUT_CHANNELS": info.out_channels}
    for axis, size, window, stride, dilation, pad in zip(
            _SPATIAL, _three(info.in_size, 1), _three(info.window, 1), _three(info.strides, 1),
            _three(info.dilations, 1), _three([before for before, _ in info.pads], 0)):
        defines.update({f"IN_{axis}": size, f"FILTER_{axis}": window, f"STRIDE_{axis}": stride,
                        f"DILATION_{axis}": dilation, f"PAD_{axis}": pad})
    return defines


def _input_output_defines(info: ConvInfo) -> tuple[dict[str, str], dict[str, int]]:
    """The output's coordinate macros, and the sizes: window geometry, the input X's strides and what
    the macros divide by."""
    macros, divisors = _coord_defines(info.batch, info.out_channels, info.out_size, info.channels_last)
    return macros, {**_window_defines(info), **divisors,
                    **_tensor_defines("X", info.batch, info.in_channels, info.in_size, info.channels_last)}


def _require_float(*tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype != "float32":
            raise CPUFallback(f"{t.dtype} convolutions and pools run on the CPU")


# -- convolutions --------------------------------------------------------------------------------------
# Paths spelled out so that grepping a shader's path finds the code that runs it.
_CONVOLUTION_SHADERS = {"conv": "convolution/conv.glsl", "depthwise": "convolution/depthwise.glsl"}


def _convolve(backend: WebGLBackend, x: Tensor, filters: Tensor, info: ConvInfo, name: str,
              epilogue: FusedEpilogue | None = None, extra: dict | None = None) -> Tensor:
    """Runs the `name` convolution shader over the output of `info`, with `epilogue` fused."""
    _require_float(x, filters)
    if info.is_empty:
        return empty(info.out_shape, "float32")
    macros, sizes = _input_output_defines(info)
    defines = {**macros, **sizes, **(extra or {})}
    shaders, names, tensors, uniforms = (_CONVOLUTION_SHADERS[name],), ("X", "W"), [x, filters], None
    if epilogue is not None and not epilogue.empty:
        defines.update(epilogue.defines)
        shaders = epilogue.shaders + shaders
        names += epilogue.inputs
        tensors += list(epilogue.tensors)
        uniforms = epilogue.uniforms
    loops = prod(info.window) * (info.in_channels if name == "conv" else 1)
    program = Program(name, shaders, names, defines, uniforms, loop_iterations=loops)
    return backend.run_program(program, tensors, info.out_shape, "float32")


def conv_tensor(backend: WebGLBackend, x: Tensor, filters: Tensor, info: ConvInfo,
                epilogue: FusedEpilogue | None = None) -> Tensor:
    """The convolution of `info` (1 to 3 spatial dims, either data format) on the GPU."""
    if not info.is_empty:
        result = packed.conv2d(backend, x, filters, info, epilogue)
        if result is not None:
            return result
    return _convolve(backend, x, filters, info, "conv", epilogue)


def depthwise_tensor(backend: WebGLBackend, x: Tensor, filters: Tensor, info: ConvInfo,
                     epilogue: FusedEpilogue | None = None) -> Tensor:
    """Depthwise convolution: output channel c * M + m convolves input channel c with filter[..., c, m]."""
    if not info.is_empty:
        result = packed.depthwise(backend, x, filters, info, epilogue)
        if result is not None:
            return result
    return _convolve(backend, x, filters, info, "depthwise", epilogue,
                     {"MULTIPLIER": filters.shape[-1]})


def _aligner(backend: WebGLBackend, info: ConvInfo):
    """Maps a fused op's extra input onto the convolution's output, as the CPU's apply_fused_ops:
    a 1-D per-channel arg follows the channel axis; anything else broadcasts by trailing dims."""
    def align(t: Tensor) -> Tensor:
        if t.rank == 1 and t.size > 1 and not info.channels_last:
            return view(backend, t, (t.size,) + (1,) * info.rank)
        return fit_onto(backend, t, info.out_shape)
    return align


def _epilogue(backend, info, fused_ops, args, epsilon, leakyrelu_alpha) -> FusedEpilogue:
    return fused_epilogue(fused_ops, args, leakyrelu_alpha=leakyrelu_alpha, epsilon=epsilon,
                          align=_aligner(backend, info))


@KERNELS.define("Conv2D")
def conv2d(backend, x, filters, *, strides, padding: str, data_format: str = "NHWC", dilations=None,
           explicit_paddings=()):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings)
    return conv_tensor(backend, x, filters, info)


@KERNELS.define("Conv3D")
def conv3d(backend, x, filters, *, strides, padding: str, data_format: str = "NDHWC", dilations=None):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations)
    return conv_tensor(backend, x, filters, info)


@KERNELS.define("Conv1D")
def conv1d(backend, x, filters, *, stride: int, padding: str, data_format: str = "NWC", dilation: int = 1):
    """TF.js's Conv1D: x (N, W, C) or (N, C, W), filter (W, C, O), scalar stride and dilation."""
    info = conv_info(x.shape, filters.shape, strides=[stride], padding=padding, data_format=data_format,
                     dilations=[dilation])
    return conv_tensor(backend, x, filters, info)


@KERNELS.define("DepthwiseConv2d", "DepthwiseConv2dNative")
def depthwise_conv2d(backend, x, filters, *, strides, padding: str, data_format: str = "NHWC", dilations=None,
                     explicit_paddings=()):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    return depthwise_tensor(backend, x, filters, info)


@KERNELS.define("_FusedConv2D")
def fused_conv2d(backend, x, filters, *args, strides, padding: str, data_format: str = "NHWC", dilations=None,
                 explicit_paddings=(), fused_ops=(), epsilon: float = 1e-4, leakyrelu_alpha: float = 0.2):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings)
    epilogue = _epilogue(backend, info, fused_ops, args, epsilon, leakyrelu_alpha)
    return conv_tensor(backend, x, filters, info, epilogue)


@KERNELS.define("FusedDepthwiseConv2dNative")
def fused_depthwise_conv2d(backend, x, filters, *args, strides, padding: str, data_format: str = "NHWC",
                           dilations=None, explicit_paddings=(), fused_ops=(), epsilon: float = 1e-4,
                           leakyrelu_alpha: float = 0.2):
    info = conv_info(x.shape, filters.shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings, depthwise=True)
    epilogue = _epilogue(backend, info, fused_ops, args, epsilon, leakyrelu_alpha)
    return depthwise_tensor(backend, x, filters, info, epilogue)


@KERNELS.define("Conv2DBackpropInput")
def conv2d_backprop_input(backend, input_sizes, filters, out_backprop, *, strides, padding: str,
                          data_format: str = "NHWC", dilations=None, explicit_paddings=()):
    """The transposed convolution, gathered: each input position sums dy * filter over the taps and
    output positions whose window covered it (the CPU kernel scatters; the sum is the same)."""
    _require_float(filters, out_backprop)
    info = backprop_input_info(ints(input_sizes), filters.shape, out_backprop.shape, strides=strides,
                               padding=padding, data_format=data_format, dilations=dilations,
                               explicit_paddings=explicit_paddings)
    return backprop_input_tensor(backend, filters, out_backprop, info)


def backprop_input_tensor(backend: WebGLBackend, filters: Tensor, out_backprop: Tensor, info: ConvInfo) -> Tensor:
    """The input gradient of the convolution `info` (2-D or 3-D; out_backprop's shape checked by the caller)."""
    if prod(info.in_shape) == 0:
        return empty(info.in_shape, "float32")
    # An empty out_backprop (no window fits) reads nothing: the shader's loops find no output
    # position, so the gradient is zero.
    out_d, out_h, out_w = _three(info.out_size, 1)
    macros, divisors = _coord_defines(info.batch, info.in_channels, info.in_size, info.channels_last)
    defines = {**_window_defines(info), "OUT_D": out_d, "OUT_H": out_h, "OUT_W": out_w, **macros, **divisors,
               **_tensor_defines("DY", info.batch, info.out_channels, info.out_size, info.channels_last)}
    program = Program("conv_backprop_input", ("convolution/backprop_input.glsl",), ("Dy", "W"), defines,
                      loop_iterations=prod(info.window) * info.out_channels)
    return backend.run_program(program, [out_backprop, filters], info.in_shape, "float32")


# -- pooling -------------------------------------------------------------------------------------------
def pool_tensor(backend: WebGLBackend, x: Tensor, info: ConvInfo, op: int, filters: Tensor | None = None,
                out_dtype: str = "float32", extra: dict | None = None) -> Tensor:
    """A window reduction of `info` on the GPU: max (TF's: from float32's lowest, NaN skipped),
    average over the in-bounds taps, Dilation2D's max of x + filter, or MaxPoolWithArgmax's
    value / index (the first tap, then strictly greater ones)."""
    _require_float(x, *([filters] if filters is not None else []))
    if info.is_empty:
        return empty(info.out_shape, out_dtype)
    if op in (POOL_MAX, POOL_AVG):
        result = packed.pool(backend, x, info, op)
        if result is not None:
            return result
    macros, sizes = _input_output_defines(info)
    names, tensors = ("X",), [x]
    if filters is not None:
        names, tensors = ("X", "W"), [x, filters]
    # Per shape by default: shape-generic pools cost llvmpipe 2-4x per draw (loops that do not unroll,
    # per-tap bounds and flat reads dividing by uniforms), still ~30% with every size but X's texture
    # constant.
    program = Program("pool", ("convolution/pool.glsl",), names, {**macros, "POOL_OP": op, **(extra or {})},
                      sizes=sizes, loop_iterations=prod(info.window))
    return backend.run_program(program, tensors, info.out_shape, out_dtype)


@KERNELS.define("MaxPool")
def max_pool(backend, x, *, ksize, strides, padding: str, data_format: str = "NHWC", explicit_paddings=()):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format,
                     explicit_paddings=explicit_paddings)
    return pool_tensor(backend, x, info, POOL_MAX)


@KERNELS.define("MaxPool3D")
def max_pool3d(backend, x, *, ksize, strides, padding: str, data_format: str = "NDHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return pool_tensor(backend, x, info, POOL_MAX)


@KERNELS.define("AvgPool")
def avg_pool(backend, x, *, ksize, strides, padding: str, data_format: str = "NHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return pool_tensor(backend, x, info, POOL_AVG)


@KERNELS.define("AvgPool3D")
def avg_pool3d(backend, x, *, ksize, strides, padding: str, data_format: str = "NDHWC"):
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format=data_format)
    return pool_tensor(backend, x, info, POOL_AVG)


@KERNELS.define("MaxPoolWithArgmax")
def max_pool_with_argmax(backend, x, *, ksize, strides, padding: str, include_batch_in_index: bool = False):
    """Two passes over the windows, one for the values and one for the indexes (as int32, how tfgl
    stores int64), each taking a window's first tap and then strictly greater ones."""
    info = pool_info(x.shape, ksize, strides=strides, padding=padding, data_format="NHWC")
    if x.size >= _FLOAT_EXACT:
        raise CPUFallback("argmax indexes past 2**24 are not exact in float textures")
    extra = {"INCLUDE_BATCH": bool(include_batch_in_index)}
    values = pool_tensor(backend, x, info, POOL_ARGMAX_VALUE, extra=extra)
    indexes = pool_tensor(backend, x, info, POOL_ARGMAX_INDEX, out_dtype="int32", extra=extra)
    return values, indexes


@KERNELS.define("Dilation2D")
def dilation2d(backend, x, filters, *, strides, rates, padding: str):
    info = dilation2d_info(x.shape, filters.shape, strides=strides, rates=rates, padding=padding)
    return pool_tensor(backend, x, info, POOL_DILATION, filters)
