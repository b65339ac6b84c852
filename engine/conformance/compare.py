"""How far one tensor is from its reference: max abs and relative error, float32 ULPs, and whether
every element lies within the tolerance |value - reference| <= atol + rtol * max|reference|.

The bound scales with the tensor's largest reference value (as tfgl's own kernel tests do), not with
each element's: a sum that cancels to nearly zero carries the rounding error of its large terms, and
an elementwise bound would flag every float32 backend on any deep model."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3


@dataclass(frozen=True)
class Tolerance:
    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL


@dataclass(frozen=True)
class Comparison:
    """One tensor against its reference. Errors cover the elements finite in both; an element NaN or
    infinite in one and not the same in the other counts in `nonfinite_mismatches`.
    max_rel_error is max_abs_error / max|reference|; max_ulps counts the elements with |reference| >= atol
    (near zero a float32 ULP is tiny: a sum's cancellation leaves millions of ULPs)."""

    max_abs_error: float
    max_rel_error: float
    max_ulps: int
    mismatches: int   # elements out of tolerance (exactly unequal ones, for integer, bool and string tensors)
    nonfinite_mismatches: int
    size: int
    within_tolerance: bool
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def ulp_distance(value: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Float32 values between each pair (both rounded to float32 first), as int64: 0 for equal
    values, 1 for neighbours; +0 and -0 are equal."""
    def ordered(x: np.ndarray) -> np.ndarray:
        bits = np.ascontiguousarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(2 ** 31) - bits, bits)
    return np.abs(ordered(value) - ordered(reference))


def compare(value: np.ndarray, reference: np.ndarray, tolerance: Tolerance) -> Comparison:
    value, reference = np.asarray(value), np.asarray(reference)
    if value.shape != reference.shape:
        return _failed(value.size, f"shape {list(value.shape)}, reference {list(reference.shape)}")
    if value.dtype.kind == "f" and reference.dtype.kind == "f":
        return _compare_floats(value, reference, tolerance)
    if value.dtype.kind == "c" and reference.dtype.kind == "c":  # real and imaginary parts side by side
        return _compare_floats(np.stack([value.real, value.imag], -1), np.stack([reference.real, reference.imag], -1),
                               tolerance)
    if value.dtype.kind in "biuf" and reference.dtype.kind in "biuf" and value.dtype.kind != "f":
        if reference.dtype.kind == "f":
            reference = reference.astype(value.dtype)
        wide, wide_ref = value.astype(np.int64), reference.astype(np.int64)
        unequal = int(np.count_nonzero(wide != wide_ref))
        error = float(np.abs(wide - wide_ref).max()) if value.size else 0.0
        return Comparison(error, error / max(float(np.abs(wide_ref).max(initial=0)), 1.0), 0, unequal, 0,
                          value.size, unequal == 0)
    if value.dtype.kind != reference.dtype.kind:
        return _failed(value.size, f"dtype {value.dtype}, reference {reference.dtype}")
    unequal = int(np.count_nonzero(value != reference))
    return Comparison(0.0, 0.0, 0, unequal, 0, value.size, unequal == 0)


def _compare_floats(value: np.ndarray, reference: np.ndarray, tolerance: Tolerance) -> Comparison:
    wide, wide_ref = value.astype(np.float64), reference.astype(np.float64)
    finite = np.isfinite(wide) & np.isfinite(wide_ref)
    same_nonfinite = ~finite & ((wide == wide_ref) | (np.isnan(wide) & np.isnan(wide_ref)))
    nonfinite_mismatches = int(np.count_nonzero(~finite & ~same_nonfinite))
    if not finite.any():
        return Comparison(0.0, 0.0, 0, nonfinite_mismatches, nonfinite_mismatches, value.size,
                          nonfinite_mismatches == 0)
    a, r = wide[finite], wide_ref[finite]
    error = np.abs(a - r)
    magnitude = np.abs(r)
    scale, worst = float(magnitude.max()), float(error.max())
    out = int(np.count_nonzero(error > tolerance.atol + tolerance.rtol * scale))
    rel = worst / scale if scale > 0 else 0.0 if worst == 0 else float("inf")
    scaled = magnitude >= tolerance.atol
    ulps = int(ulp_distance(a[scaled], r[scaled]).max()) if scaled.any() else 0
    return Comparison(worst, rel, ulps,
                      out + nonfinite_mismatches, nonfinite_mismatches, value.size,
                      out + nonfinite_mismatches == 0)


def _failed(size: int, note: str) -> Comparison:
    return Comparison(float("inf"), float("inf"), 0, size, 0, size, False, note)
