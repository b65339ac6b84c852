"""Arguments of the evaluation family: TopKV2's k."""
from __future__ import annotations

from collections.abc import Sequence


def check_top_k(shape: Sequence[int], k: int) -> None:
    """TensorFlow's checks: a rank >= 1 input with at least k values along its last axis."""
    if len(shape) < 1:
        raise ValueError("input must be >= 1-D")
    if k < 0:
        raise ValueError(f"Need k >= 0, got {k}")
    if shape[-1] < k:
        raise ValueError(f"input must have at least k columns. Had {shape[-1]}, needed {k}")
