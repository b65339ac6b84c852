"""Arguments of LowerBound and UpperBound (TensorFlow's SearchSorted), shared by the CPU and GL kernels."""
from __future__ import annotations

from collections.abc import Sequence


def check_search(sorted_shape: Sequence[int], values_shape: Sequence[int], out_type: str) -> None:
    """Rows of sorted values and as many rows of values to place in them; an integer index dtype."""
    if len(sorted_shape) != 2 or len(values_shape) != 2:
        raise ValueError(f"sorted_inputs and values must be rank 2, got shapes {list(sorted_shape)} and "
                         f"{list(values_shape)}")
    if sorted_shape[0] != values_shape[0]:
        raise ValueError("Leading dim_size of both tensors must match.")
    if out_type not in ("int32", "int64"):
        raise ValueError(f"index dtype must be int32 or int64, got {out_type!r}")
