"""Compiled CPU kernels (numba), the optional extra `tfgl[fast-cpu]`, for what numpy cannot do fast:
a depthwise convolution that keeps a 3x3 window's sum in registers instead of one pass over the
output per tap, fused epilogues in one pass instead of one per op, ResizeBilinear, and hard
non-max suppression (a greedy loop over candidates, a few operations each).

Whether they are used is decided when this module is imported: numba must be installed and
TFGL_CPU_COMPILED not 0 (set it to 0 to compare with the pure numpy path, which stays and gives the
same results within float rounding). numba itself is imported on the first call, not with `engine`;
if that import fails, the compiled kernels turn off with a warning. Machine code is cached on disk
(numba's cache=True) under $TFGL_CACHE/numba (default ~/.cache/tfgl/numba) unless NUMBA_CACHE_DIR
says elsewhere, so only a machine's first process compiles (a few seconds); a later process's
first call pays ~0.5 s (importing numba, loading the cache).
"""
from __future__ import annotations

import importlib.util
import math
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from engine.kernels.cpu import openmp
from engine.kernels.cpu.fused import Fused, fused_steps

SWITCH_VARIABLE = "TFGL_CPU_COMPILED"
# The dtypes the kernels are compiled for; others take the numpy path.
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Epilogue loops run over spans of at least SPAN values, whole pixels and a multiple of VECTOR_BLOCK:
# LLVM vectorizes a loop in blocks of 64 float32 (four AVX-512 registers) and leaves the rest to a
# scalar loop, which such spans never reach.
SPAN = 256
VECTOR_BLOCK = 64


def _wanted() -> bool:
    if os.environ.get(SWITCH_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        return importlib.util.find_spec("numba") is not None
    except ValueError:  # a numba module without a spec: not one to use
        return False


ENABLED = _wanted()
_kernels: ModuleType | None = None
_load_lock = threading.Lock()


def _cache_folder() -> Path:
    """$TFGL_CACHE/numba: beside the shader caches (engine.webgl.shader_cache's root, which this
    layer cannot import)."""
    return Path(os.environ.get("TFGL_CACHE") or Path.home() / ".cache" / "tfgl") / "numba"


def kernels() -> ModuleType:
    """engine.kernels.cpu.numba_kernels, imported (with numba) on first use; only after `handles`
    said yes."""
    global _kernels
    if _kernels is None:
        with _load_lock:
            if _kernels is None:
                if not os.environ.get("NUMBA_CACHE_DIR"):
                    import numba
                    numba.config.CACHE_DIR = str(_cache_folder())
                from engine.kernels.cpu import numba_kernels
                _kernels = numba_kernels
    return _kernels


def handles(dtype: np.dtype) -> bool:
    """Whether the compiled kernels take results of this dtype. The first time it says yes it imports
    numba: a numba that fails to import (one built for another numpy, say) turns the compiled
    kernels off with a warning, and everything runs on numpy."""
    global ENABLED
    if not ENABLED or np.dtype(dtype) not in DTYPES:
        return False
    if _kernels is None:
        try:
            kernels()
        except Exception as error:  # noqa: BLE001 - any failure of a third-party import means: numpy only
            ENABLED = False
            warnings.warn(f"tfgl's compiled CPU kernels are off: importing numba failed ({error!r:.200}); "
                          f"set {SWITCH_VARIABLE}=0 to silence this", RuntimeWarning, stacklevel=2)
            return False
    return True


def handles_once_loaded(dtype: np.dtype) -> bool:
    """`handles`, for kernels that would not repay importing numba and loading its code (~0.8 s) by
    themselves: yes only once a convolution has imported it. NMS and ResizeBilinear save a fraction
    of a millisecond a call compiled; in a WebGL model they are the CPU kernels that remain (host
    steps, a preprocessing loop), and would put numba's import into its first call."""
    return _kernels is not None and handles(dtype)


# fused activation -> (low, high) clamps; LeakyRelu and PReLU scale negatives instead
_CLAMPS = {"linear": (-np.inf, np.inf), "identity": (-np.inf, np.inf), "relu": (0, np.inf), "relu6": (0, 6)}


class Epilogue:
    """A fused op's epilogue as the kernels take it (engine.kernels.cpu.numba_kernels._finish):
    (y - sub) * mul + add per channel, then a clamp to [low, high] or negatives times slope."""

    def __init__(self, channels: int, dtype: np.dtype):
        dtype = np.dtype(dtype)
        self.channels = channels
        zeros = np.zeros(channels, dtype)
        self.sub, self.mul, self.add, self.slope = zeros, np.ones(channels, dtype), zeros, zeros
        self.scales_negatives, self.low, self.high = False, dtype.type(-np.inf), dtype.type(np.inf)

    def kernel_args(self) -> tuple:
        """The kernels' arguments: the per-channel ones repeated over a span of whole pixels."""
        whole = math.lcm(self.channels, VECTOR_BLOCK)  # no scalar remainder
        repeat = whole // self.channels * -(-SPAN // whole)
        sub, mul, add, slope = (np.tile(a, repeat) for a in (self.sub, self.mul, self.add, self.slope))
        return sub, mul, add, self.scales_negatives, self.low, self.high, slope

    @classmethod
    def of(cls, fused: Fused | None, channels: int, dtype) -> tuple | None:
        """The kernels' epilogue arguments for `fused` (kernel_args), or None where the ops do not fit
        (`_fit`). Worked out once per layer: a layer's args are the same small arrays on every call,
        and working them out took as long as a small layer's arithmetic. An entry keeps the arrays,
        so no other array can take their ids; like every kernel input they never change in place."""
        dtype = np.dtype(dtype)
        if fused is None:
            key = (channels, dtype)
            if key not in _IDENTITIES:
                _IDENTITIES[key] = cls(channels, dtype).kernel_args()
            return _IDENTITIES[key]
        if any(np.ndim(a) > 1 or np.size(a) not in (1, channels) for a in fused.args):
            return None  # e.g. a residual 'Add' of a whole tensor, new on every call: never kept
        try:
            key = (tuple(fused.ops), tuple(map(id, fused.args)), channels, dtype, fused.epsilon,
                   fused.leakyrelu_alpha)
            entry = _EPILOGUES.get(key)
        except TypeError:  # ops that are not a list of names
            key, entry = None, None
        if entry is None:
            epilogue = cls._fit(fused, channels, dtype)  # ValueError for bad ops
            entry = (tuple(fused.args), None if epilogue is None else epilogue.kernel_args())
            if key is not None:
                if len(_EPILOGUES) >= 1024:
                    _EPILOGUES.clear()
                _EPILOGUES[key] = entry
        return entry[1]

    @classmethod
    def _fit(cls, fused: Fused, channels: int, dtype: np.dtype) -> Epilogue | None:
        """None unless the ops are at most one bias or batch norm, then at most one activation that
        clamps or scales negatives, and every arg is per channel (not, e.g., a residual 'Add')."""
        epilogue = cls(channels, dtype)
        steps = fused_steps(fused.ops, fused.args)

        def per_channel(arg: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(np.broadcast_to(arg.astype(dtype, copy=False).reshape(-1), (channels,)))
        for index, (name, args) in enumerate(steps):
            if index == 0 and name in ("biasadd", "add"):
                epilogue.add = per_channel(args[0])
            elif index == 0 and name == "fusedbatchnorm":
                scale, offset, mean, variance = args
                epilogue.sub, epilogue.add = per_channel(mean), per_channel(offset)
                epilogue.mul = per_channel(scale / np.sqrt(variance + np.asarray(fused.epsilon, variance.dtype)))
            elif index == len(steps) - 1 and name in _CLAMPS:
                epilogue.low, epilogue.high = (dtype.type(bound) for bound in _CLAMPS[name])
            elif index == len(steps) - 1 and name in ("leakyrelu", "prelu"):
                epilogue.scales_negatives, epilogue.low = True, dtype.type(0)
                slope = args[0] if name == "prelu" else np.asarray(fused.leakyrelu_alpha)
                epilogue.slope = per_channel(slope)
            else:
                return None
        return epilogue


_EPILOGUES: dict[tuple, tuple] = {}
_IDENTITIES: dict[tuple, tuple] = {}  # (channels, dtype) -> the epilogue that changes nothing


def depthwise(x: np.ndarray, weights: np.ndarray, out: np.ndarray, strides: tuple[int, int],
              dilations: tuple[int, int], pads: tuple[tuple[int, int], ...], epilogue: tuple,
              for_rows: Callable[[int, int, Callable[[int, int], None]], None]) -> np.ndarray:
    """out = the depthwise convolution of contiguous x (N, H, W, C) by weights (KH, KW, C), padded
    ((top, bottom), (left, right)), then the epilogue; in chunks of output rows through `for_rows`
    (rows, work, fn)."""
    run = kernels().depthwise_rows
    args = (*strides, *dilations, pads[0][0], pads[1][0], *epilogue)
    if openmp.depthwise(x, weights, out, args):
        return out

    def rows(start: int, stop: int) -> None:
        run(x, weights, out, start, stop, *args)
    for_rows(out.shape[1], out.size * weights.shape[0] * weights.shape[1], rows)
    return out


def epilogue_rows(y: np.ndarray, epilogue: tuple) -> Callable[[int, int], None]:
    """epilogue(start, stop): the epilogue (Epilogue.of) in place on rows start:stop of channels-last
    contiguous y."""
    run = kernels().epilogue_rows
    rows = y.reshape(y.shape[0], y.shape[1], -1)

    def apply(start: int, stop: int) -> None:
        if not openmp.epilogue(rows, start, stop, epilogue):
            run(rows, start, stop, *epilogue)
    return apply


def resize_bilinear(pixels: np.ndarray, y_low: np.ndarray, y_high: np.ndarray, y_lerp: np.ndarray,
                    x_low: np.ndarray, x_high: np.ndarray, x_lerp: np.ndarray, out: np.ndarray,
                    for_rows: Callable[[int, int, Callable[[int, int], None]], None]) -> np.ndarray:
    """out = the bilinear resize of contiguous float32 pixels (N, H, W, C) from the source indexes and
    lerp weights per output row and column (engine.kernels.cpu.image), in chunks of output rows."""
    if openmp.resize_bilinear(pixels, (y_low, y_high, y_lerp, x_low, x_high, x_lerp), out):
        return out
    run = kernels().resize_bilinear_rows

    def rows(start: int, stop: int) -> None:
        run(pixels, y_low, y_high, y_lerp, x_low, x_high, x_lerp, out, start, stop)
    for_rows(out.shape[1], out.size * 6, rows)
    return out


def hard_nms(boxes: np.ndarray, scores: np.ndarray, max_output_size: int, iou_threshold: np.float32,
             score_threshold: np.float32) -> np.ndarray:
    """The indices TensorFlow's greedy hard NMS selects from float32 boxes (N, 4) and scores (N,):
    engine.kernels.cpu.dynamic's numpy path's, to the bit. The boxes are read in place, whatever
    their layout (a model's are often a transpose's view; copying them took longer than the NMS)."""
    return kernels().hard_nms(boxes, np.ascontiguousarray(scores), max_output_size, np.float32(iou_threshold),
                              np.float32(score_threshold))
