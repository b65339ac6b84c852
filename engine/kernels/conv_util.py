"""Geometry of sliding-window ops (convolution, pooling, dilation) as TensorFlow computes it.

Pure Python, shared by every backend's kernels: parses `strides` / `dilations` / `ksize` /
`explicit_paddings` / `data_format` attrs and works out output sizes and padding for SAME, VALID and
EXPLICIT padding (TensorFlow's GetWindowedOutputSizeVerbose), and the geometry of the ops built on
it: convolutions, pools, Conv2DBackpropInput (from its input_sizes) and Dilation2D, with their
checks. TF.js's computeConv2DInfo is the same idea; `ConvInfo` covers 1, 2 and 3 spatial dimensions,
with TF.js's 2D names as properties.
"""
from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, replace
from math import prod
from numbers import Integral
from collections.abc import Iterator, Sequence

PADDINGS = ("SAME", "VALID", "EXPLICIT")


@dataclass(frozen=True)
class ConvInfo:
    """Where a window op reads and writes. Spatial tuples run (depth,) (height,) width."""

    batch: int
    in_channels: int
    out_channels: int
    in_size: tuple[int, ...]
    out_size: tuple[int, ...]
    window: tuple[int, ...]  # filter or pooling window, spatial only
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]  # (before, after) per spatial dim
    channels_last: bool

    @property
    def rank(self) -> int:
        """Number of spatial dimensions."""
        return len(self.in_size)

    @property
    def effective_window(self) -> tuple[int, ...]:
        """Window extent once dilation spreads its taps apart."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.window, self.dilations))

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self._shape(self.in_size, self.in_channels)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self._shape(self.out_size, self.out_channels)

    @property
    def is_empty(self) -> bool:
        """True when the output has no elements (TensorFlow allows empty batches and windows)."""
        return prod(self.out_shape) == 0

    def _shape(self, spatial: tuple[int, ...], channels: int) -> tuple[int, ...]:
        if self.channels_last:
            return (self.batch, *spatial, channels)
        return (self.batch, channels, *spatial)

    # TF.js's Conv2DInfo names, for shader code: height/width are the last two spatial dims.
    in_height = property(lambda self: self.in_size[-2])
    in_width = property(lambda self: self.in_size[-1])
    out_height = property(lambda self: self.out_size[-2])
    out_width = property(lambda self: self.out_size[-1])
    filter_height = property(lambda self: self.window[-2])
    filter_width = property(lambda self: self.window[-1])
    stride_height = property(lambda self: self.strides[-2])
    stride_width = property(lambda self: self.strides[-1])
    dilation_height = property(lambda self: self.dilations[-2])
    dilation_width = property(lambda self: self.dilations[-1])
    pad_top = property(lambda self: self.pads[-2][0])
    pad_bottom = property(lambda self: self.pads[-2][1])
    pad_left = property(lambda self: self.pads[-1][0])
    pad_right = property(lambda self: self.pads[-1][1])


def is_channels_last(data_format: str) -> bool:
    """'NHWC', 'NDHWC', 'NWC' -> True; 'NCHW', 'NCDHW', 'NCW' -> False."""
    if data_format.upper().startswith("NC"):
        if data_format.upper() not in ("NCW", "NCHW", "NCDHW"):
            raise ValueError(f"unsupported data_format {data_format!r}")
        return False
    return True


def spatial_values(values: Sequence[int] | int | None, rank: int, channels_last: bool,
                   name: str, default: int = 1) -> tuple[int, ...]:
    """The spatial entries of a per-dimension attr (`strides`, `dilations`, `ksize`).

    TensorFlow gives one value per dimension in data_format order, with 1 for batch and channels;
    a list of only the spatial values, a single value or None (`default` everywhere) also work.
    """
    if values is None:
        return (default,) * rank
    if isinstance(values, Integral):
        values = [values]
    try:
        values = [operator.index(v) for v in values]
    except TypeError:  # not a sequence of ints
        raise ValueError(f"{name} must be a list of ints, got {values!r:.60}") from None
    if len(values) == 1:
        spatial = values * rank
    elif len(values) == rank:
        spatial = values
    elif len(values) != rank + 2:
        raise ValueError(f"{name} has {len(values)} entries; expected {rank + 2}")
    else:
        batch, channels = values[0], values[-1] if channels_last else values[1]
        if batch != 1 or channels != 1:
            raise ValueError(f"{name} must be 1 in the batch and channel dimensions, got {values}")
        spatial = values[1:-1] if channels_last else values[2:]
    if any(v < 1 for v in spatial):
        raise ValueError(f"{name} must be positive, got {values}")
    return tuple(spatial)


def explicit_pads(explicit_paddings: Sequence[int], rank: int,
                  channels_last: bool) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial dim from `explicit_paddings`: 2 numbers per dim, data_format order."""
    values = [int(v) for v in explicit_paddings]
    if len(values) != 2 * (rank + 2):
        raise ValueError(f"explicit_paddings has {len(values)} entries; expected {2 * (rank + 2)}")
    pairs = [(values[2 * i], values[2 * i + 1]) for i in range(rank + 2)]
    batch, channels = pairs[0], pairs[-1] if channels_last else pairs[1]
    if batch != (0, 0) or channels != (0, 0):
        raise ValueError("explicit_paddings must be 0 in the batch and channel dimensions")
    spatial = pairs[1:-1] if channels_last else pairs[2:]
    if any(p < 0 for pair in spatial for p in pair):
        raise ValueError("explicit_paddings must not be negative")
    return tuple(spatial)


def windowed_output(in_size: int, window: int, stride: int, dilation: int, padding: str,
                    explicit: tuple[int, int] = (0, 0)) -> tuple[int, tuple[int, int]]:
    """(output size, (pad before, pad after)) along one dim, as TF's GetWindowedOutputSizeVerbose.

    SAME pads so that out = ceil(in / stride), the odd pixel going after; VALID never pads.
    """
    effective = (window - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
        needed = max(0, (out - 1) * stride + effective - in_size)
        pads = (needed // 2, needed - needed // 2)
    elif padding == "VALID":
        pads = (0, 0)
    elif padding == "EXPLICIT":
        pads = explicit
    else:
        raise ValueError(f"unknown padding {padding!r}")
    if padding != "SAME":
        span = in_size + pads[0] + pads[1] - effective + stride
        out = int(span / stride)  # C++ division truncates toward zero
    if out < 0:
        raise ValueError(f"computed output size would be negative: input {in_size}, window {effective}, "
                         f"stride {stride}, padding {padding}")
    return out, pads


def _spatial_rank(x_shape: Sequence[int]) -> int:
    """The spatial dims of a window op's input: batch, 1 to 3 spatial dims, channels."""
    if not 3 <= len(x_shape) <= 5:
        raise ValueError(f"a window op needs an input of rank 3 to 5, got shape {tuple(x_shape)}")
    return len(x_shape) - 2


def window_info(x_shape: Sequence[int], window: Sequence[int], out_channels: int, *,
                strides, padding: str, data_format: str, dilations=None,
                explicit_paddings: Sequence[int] = ()) -> ConvInfo:
    """Geometry of a window of spatial size `window` sliding over an input of shape `x_shape`."""
    rank = _spatial_rank(x_shape)
    if len(window) != rank:
        raise ValueError(f"input of rank {len(x_shape)} with a {len(window)}-D window")
    channels_last = is_channels_last(data_format)
    padding = padding.upper()
    strides_ = spatial_values(strides, rank, channels_last, "strides")
    dilations_ = spatial_values(dilations, rank, channels_last, "dilations")
    if padding == "EXPLICIT":
        explicit = explicit_pads(explicit_paddings, rank, channels_last)
    else:
        explicit = ((0, 0),) * rank
    in_size = tuple(x_shape[1:-1] if channels_last else x_shape[2:])
    outs = [windowed_output(n, k, s, d, padding, e)
            for n, k, s, d, e in zip(in_size, window, strides_, dilations_, explicit)]
    return ConvInfo(batch=int(x_shape[0]), in_channels=int(x_shape[-1] if channels_last else x_shape[1]),
                    out_channels=int(out_channels), in_size=tuple(int(n) for n in in_size),
                    out_size=tuple(o for o, _ in outs), window=tuple(int(k) for k in window),
                    strides=strides_, dilations=dilations_, pads=tuple(p for _, p in outs),
                    channels_last=channels_last)


def conv_info(x_shape: Sequence[int], filter_shape: Sequence[int], *, strides, padding: str,
              data_format: str, dilations=None, explicit_paddings: Sequence[int] = (),
              depthwise: bool = False) -> ConvInfo:
    """Geometry of a convolution; the filter is (*window, in_channels, out_channels), or
    (*window, in_channels, multiplier) for a depthwise one (in_channels * multiplier outputs)."""
    info = window_info(x_shape, tuple(filter_shape[:-2]), 0, strides=strides, padding=padding,
                       data_format=data_format, dilations=dilations, explicit_paddings=explicit_paddings)
    if len(filter_shape) != len(x_shape) or filter_shape[-2] != info.in_channels:
        raise ValueError(f"filter of shape {tuple(filter_shape)} does not fit input of shape {tuple(x_shape)}")
    out_channels = filter_shape[-1] * (info.in_channels if depthwise else 1)
    return replace(info, out_channels=int(out_channels))


def pool_info(x_shape: Sequence[int], ksize, *, strides, padding: str, data_format: str,
              explicit_paddings: Sequence[int] = ()) -> ConvInfo:
    """Geometry of a pooling op: the window comes from `ksize`, channels pass through."""
    window = spatial_values(ksize, _spatial_rank(x_shape), is_channels_last(data_format), "ksize")
    info = window_info(x_shape, window, 0, strides=strides, padding=padding, data_format=data_format,
                       explicit_paddings=explicit_paddings)
    return replace(info, out_channels=info.in_channels)


def backprop_input_info(input_sizes: Sequence[int], filter_shape: Sequence[int], out_backprop_shape: Sequence[int],
                        *, strides, padding: str, data_format: str, dilations=None,
                        explicit_paddings: Sequence[int] = ()) -> ConvInfo:
    """Geometry of Conv2DBackpropInput: the convolution whose input has `input_sizes` (the whole
    shape, or only the spatial sizes, batch and channels then following from out_backprop and the
    filter), checked to produce an output of out_backprop's shape."""
    sizes = [int(v) for v in input_sizes]
    if len(filter_shape) != 4 or len(out_backprop_shape) != 4:
        raise ValueError(f"Conv2DBackpropInput needs a 4-D filter and out_backprop, got shapes "
                         f"{tuple(filter_shape)} and {tuple(out_backprop_shape)}")
    if len(sizes) == 2:  # only the spatial sizes: batch and channels follow from the other inputs
        batch, channels = out_backprop_shape[0], filter_shape[2]
        sizes = [batch, *sizes, channels] if is_channels_last(data_format) else [batch, channels, *sizes]
    info = conv_info(sizes, filter_shape, strides=strides, padding=padding, data_format=data_format,
                     dilations=dilations, explicit_paddings=explicit_paddings)
    if tuple(out_backprop_shape) != info.out_shape:
        raise ValueError(f"out_backprop has shape {tuple(out_backprop_shape)}; the convolution of {tuple(sizes)} "
                         f"gives {info.out_shape}")
    return info


def dilation2d_info(x_shape: Sequence[int], filter_shape: Sequence[int], *, strides, rates,
                    padding: str) -> ConvInfo:
    """Geometry of Dilation2D: an NHWC input and a (height, width, channels) filter, `rates` its
    dilations; channels pass through."""
    if len(x_shape) != 4:
        raise ValueError(f"Dilation2D needs an NHWC input, got shape {tuple(x_shape)}")
    info = window_info(x_shape, filter_shape[:2], x_shape[-1], strides=strides, padding=padding,
                       data_format="NHWC", dilations=rates)
    if len(filter_shape) != 3 or filter_shape[2] != info.in_channels:
        raise ValueError(f"filter of shape {tuple(filter_shape)} does not fit input of shape {tuple(x_shape)}")
    return info


def tap_regions(info: ConvInfo) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...], tuple[slice, ...]]]:
    """(tap, outputs, inputs) for every tap of the window, in row-major order: the basic index of
    the channels-last outputs whose tap lands inside the input, and of the input elements they read.
    Taps that land only in padding are left out."""
    for tap in itertools.product(*(range(k) for k in info.window)):
        outputs, inputs = [slice(None)], [slice(None)]
        for k, size, out, stride, dilation, (before, _) in zip(
                tap, info.in_size, info.out_size, info.strides, info.dilations, info.pads):
            offset = k * dilation - before  # the input position output 0 reads
            first, end = max(0, -(offset // stride)), min(out, (size - 1 - offset) // stride + 1)
            if end <= first:
                break
            start = first * stride + offset
            outputs.append(slice(first, end))
            inputs.append(slice(start, start + (end - first - 1) * stride + 1, stride))
        else:
            yield tap, tuple(outputs), tuple(inputs)
