"""Weight quantization as the official converter does it: affine uint8/uint16 with the range nudged
so that 0.0 is exactly representable, and float16."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

import numpy as np

QUANTIZED_DTYPES = {"uint8": np.dtype("<u1"), "uint16": np.dtype("<u2"), "float16": np.dtype("<f2")}


def quantize(data: np.ndarray, qdtype: str) -> tuple[np.ndarray, dict]:
    """Quantized values and the manifest's quantization entry ({dtype, min, scale} or {dtype})."""
    if qdtype == "float16":
        if data.dtype != np.float32:
            raise ValueError(f"float16 quantization needs float32 data, got {data.dtype}")
        return data.astype("<f2"), {"dtype": "float16"}
    if qdtype not in ("uint8", "uint16"):
        raise ValueError(f"unknown quantization dtype {qdtype!r}: use uint8, uint16 or float16")
    target = QUANTIZED_DTYPES[qdtype]
    # float64 bounds (strongly typed) so the arithmetic below matches the official converter's bit for bit.
    lo = np.float64(data.min()) if data.size else np.float64(0.0)
    hi = np.float64(data.max()) if data.size else np.float64(0.0)
    if lo == hi:
        return np.zeros(data.shape, target), {"dtype": qdtype, "min": lo, "scale": 1.0}
    scale, lo, hi = _nudged_range(lo, hi, int(np.iinfo(target).max))
    values = np.round((data.clip(lo, hi) - lo) / scale).astype(target)
    return values, {"dtype": qdtype, "min": lo, "scale": scale}


def _nudged_range(lo: np.float64, hi: np.float64, qmax: int) -> tuple[np.float64, np.float64, np.float64]:
    """Shifts [lo, hi] so that 0 falls on a quantization step, when 0 is inside the range."""
    scale = (hi - lo) / qmax
    if lo <= 0 <= hi:
        zero_point = np.round((0 - lo) / scale)
        lo = -zero_point * scale
        hi = qmax * scale + lo
    return scale, lo, hi


def dequantize(values: np.ndarray, quantization: Mapping, dtype: str) -> np.ndarray:
    """Inverse of quantize: `q * scale + min` (computed in float64, as TF.js does), or float16 -> float32."""
    qdtype = quantization["dtype"]
    if qdtype == "float16":
        return values.astype(np.float32)
    restored = values.astype(np.float64) * float(quantization["scale"]) + float(quantization["min"])
    if dtype == "int32":
        # JavaScript's Math.round: halves go up (-2.5 -> -2, 2.5 -> 3), unlike np.round's half to even.
        floor = np.floor(restored)
        return (floor + (restored - floor >= 0.5)).astype(np.int32)
    return restored.astype(np.float32)


def dtype_per_weight(names: Iterable[str], patterns_by_dtype: Mapping[str, object] | None) -> dict[str, str]:
    """Which weights get which quantization dtype.

    `patterns_by_dtype` maps 'uint8'/'uint16'/'float16' to fnmatch patterns, or to True for
    "every weight no pattern claimed" (at most one such fallthrough).
    """
    if not patterns_by_dtype:
        return {}
    names = list(names)
    chosen: dict[str, str] = {}
    fallthrough = None
    for qdtype, patterns in patterns_by_dtype.items():
        if qdtype not in QUANTIZED_DTYPES:
            raise ValueError(f"unknown quantization dtype {qdtype!r}")
        if patterns is True:
            if fallthrough is not None:
                raise ValueError("more than one quantization dtype applies to all weights; give patterns")
            fallthrough = qdtype
            continue
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            for name in fnmatch.filter(names, pattern):
                if chosen.get(name, qdtype) != qdtype:
                    raise ValueError(f"weight {name!r} matches both {chosen[name]} and {qdtype}")
                chosen[name] = qdtype
    if fallthrough is not None:
        for name in names:
            chosen.setdefault(name, fallthrough)
    return chosen
