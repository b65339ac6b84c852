"""Evaluation ops (op_list/evaluation.json): sorted search, top-k and unique, as TensorFlow."""
from __future__ import annotations

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.evaluation import check_top_k
from engine.kernels.resolve.search_sorted import check_search
from engine.kernels.resolve.values import first_int

KERNELS = KernelTable()


def _index_dtype(name: str) -> str:
    """An index output's dtype attr (out_type, index_type, out_idx)."""
    if name not in ("int32", "int64"):
        raise ValueError(f"index dtype must be int32 or int64, got {name!r}")
    return name


def _search_sorted(sorted_inputs: np.ndarray, values: np.ndarray, out_type: str, upper: bool) -> np.ndarray:
    """std::lower_bound / std::upper_bound per row, run on every value at once.

    Replaying the C++ bisection (rather than np.searchsorted) keeps TensorFlow's answers where
    comparisons are false both ways: a NaN value goes to 0 (lower) or N (upper)."""
    check_search(sorted_inputs.shape, values.shape, out_type)
    n = sorted_inputs.shape[1]
    row = np.arange(sorted_inputs.shape[0])[:, None]
    first = np.zeros(values.shape, np.int64)
    length = np.full(values.shape, n, np.int64)
    while n and np.any(length > 0):
        half = length >> 1
        middle = first + half
        probe = sorted_inputs[row, np.minimum(middle, n - 1)]
        go_right = ~(values < probe) if upper else probe < values
        go_right &= length > 0
        first = np.where(go_right, middle + 1, first)
        length = np.where(go_right, length - half - 1, half)
    return first.astype(out_type)


@KERNELS.define("LowerBound")
def lower_bound(sorted_inputs, values, *, out_type: str = "int32"):
    return _search_sorted(sorted_inputs, values, out_type, upper=False)


@KERNELS.define("UpperBound")
def upper_bound(sorted_inputs, values, *, out_type: str = "int32"):
    return _search_sorted(sorted_inputs, values, out_type, upper=True)


@KERNELS.define("TopKV2")
def top_k_v2(x, k, *, sorted: bool = True, index_type: str = "int32"):  # noqa: A002 (TF's attr name)
    """The k largest along the last axis, descending, equal values by lower index first, NaN above
    +inf (TensorFlow's own NaN placement depends on its algorithm for each k and row length).

    With sorted=False TensorFlow's order is unspecified; the sorted order is returned."""
    k = first_int(k)
    check_top_k(x.shape, k)
    n = x.shape[-1]
    # A stable ascending sort of the reversed row, read backwards, is descending with ties in
    # ascending original index (and needs no negation, which would overflow the smallest int).
    reversed_order = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    indices = n - 1 - reversed_order
    return np.take_along_axis(x, indices, axis=-1), indices.astype(_index_dtype(index_type))


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows [n, m]: the index of each distinct row's first occurrence (in order of appearance)
    and each row's group number. Equality is element-wise ==, as TensorFlow's hash map: NaN never
    equals anything and -0.0 equals 0.0."""
    n, m = rows.shape
    if n == 0 or m == 0:
        return np.arange(min(n, 1)), np.zeros(n, np.int64)
    order = np.lexsort(rows.T[::-1])  # stable: equal rows keep ascending index
    ordered = rows[order]
    starts = np.concatenate([[True], np.any(ordered[1:] != ordered[:-1], axis=1)])
    group_in_sort = np.cumsum(starts) - 1
    firsts = order[starts]
    by_appearance = np.argsort(firsts, kind="stable")
    rank = np.empty_like(by_appearance)
    rank[by_appearance] = np.arange(by_appearance.size)
    groups = np.empty(n, np.int64)
    groups[order] = rank[group_in_sort]
    return firsts[by_appearance], groups


@KERNELS.define("Unique")
def unique(x, *, out_idx: str = "int32"):
    """Distinct values in order of first appearance, and each element's index into them."""
    if x.ndim != 1:
        raise ValueError("unique expects a 1D vector.")
    firsts, groups = _unique_rows(x[:, None])
    return x[firsts], groups.astype(_index_dtype(out_idx))


@KERNELS.define("UniqueV2")
def unique_v2(x, axis, *, out_idx: str = "int32"):
    """Distinct slices along `axis` (an empty axis tensor means a 1-D x)."""
    axes = np.asarray(axis).reshape(-1)
    if axes.size == 0:
        return unique(x, out_idx=out_idx)
    if axes.size > 1:
        raise ValueError(f"axis expects a 1D vector with 1 element, got {axes.tolist()}")
    dim = int(axes[0])
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"axis has to be between [-{x.ndim}, {x.ndim}), got {dim}")
    dim %= x.ndim
    slices = np.moveaxis(x, dim, 0)
    firsts, groups = _unique_rows(slices.reshape(slices.shape[0], int(np.prod(slices.shape[1:], dtype=np.int64))))
    return np.take(x, firsts, axis=dim), groups.astype(_index_dtype(out_idx))
