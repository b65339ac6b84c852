"""Arguments of the creation family: OneHot's depth and axis."""
from __future__ import annotations

from engine.kernels.resolve.values import scalar


def one_hot_depth(depth, axis: int, indices_rank: int) -> int:
    """OneHot's depth (a non-negative scalar input), once `axis` is checked against the output rank
    (-1: last)."""
    depth = int(scalar(depth))
    if depth < 0:
        raise ValueError(f"OneHot: depth must be non-negative, got {depth}")
    rank = indices_rank + 1
    if not -1 <= axis < rank:
        raise ValueError(f"OneHot: axis {axis} is out of range for output rank {rank}")
    return depth
