"""GL kernels of the reduction family: Sum Mean Max Min Prod All Any (and EuclideanNorm, registered in
normalization.py) as windowed row reductions, ArgMax/ArgMin, the scans Cumsum/Cumprod, and
Bincount/DenseBincount and UnsortedSegmentSum (one fragment per output value, looping over every value
it may sum).

As TF.js: the reduced axes are transposed last (free when they already are), the input is viewed
as (batch, n) rows, and each pass reduces windows of a row, so one fragment never loops over more
than MAX_WINDOW values; a long row takes several passes (a 100000-value sum: windows of 317, then
one of 316). Empty reductions give TensorFlow's identities, computed by the CPU kernels on the
empty input (no values to move).

Bincount/DenseBincount give each output bin one fragment that loops over its row of values (TF.js
reads the values back and counts on the CPU). The loop is bounded: rows over MAX_BINCOUNT_VALUES
(960000) values, or draws over MAX_BINCOUNT_WORK bin x value steps, run on the CPU (CPUFallback). Negative
values are rejected when the values are on the CPU; values only on the GPU are not read back, and
negative ones land in no bin. Counts and integer sums are exact below 2**24.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.reduction import arg_axis, check_bincount, check_segment_ids, segment_sum_shape
from engine.kernels.resolve.values import first_int, reduction_axes
from engine.kernels.webgl.common import empty, ints, require_gl_dtypes, reshaped, transpose_tensor, view
from engine.kernels.webgl.creation import fill
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

SINGLE_PASS_MAX = 1024   # rows up to this long reduce in one pass
MAX_WINDOW = 4096        # the most values one fragment reads
DIRECT_SCAN_MAX = 128    # scans along longer axes take log2(n) Hillis-Steele passes

# A window's trip count stays a define by default: as a uniform, its loop would not unroll.
_WINDOW = ("WINDOW",)
SUM, PROD, MAX, MIN, ALL, ANY = range(6)
_INIT = {SUM: 0.0, PROD: 1.0, MAX: float("-inf"), MIN: float("inf"), ALL: 1.0, ANY: 0.0}
PRE_NONE, PRE_SQUARE, PRE_EXP_SHIFTED = 0, 1, 2
POST_NONE, POST_DIVIDE, POST_INT_DIVIDE, POST_SQRT, POST_INT_SQRT = range(5)


def window_size(n: int) -> int:
    """The values one fragment reduces in a pass over rows of n."""
    if n <= SINGLE_PASS_MAX:
        return max(n, 1)
    return min(MAX_WINDOW, math.ceil(math.sqrt(n)))


def reduce_rows(backend: WebGLBackend, rows: Tensor, op: int, out_dtype: str, pre: int = PRE_NONE,
                post: int = POST_NONE, count: int = 1, shift: Tensor | None = None) -> Tensor:
    """Reduces each row of `rows` (batch, n) with `op` -> (batch, 1), in windowed passes. `pre`
    applies to the values read in the first pass (`shift`, (batch, 1), is its exp offset), `post`
    to the results of the last (`count` its divisor)."""
    batch, size = rows.shape
    current, first = rows, True
    while True:
        window = window_size(size)
        out = math.ceil(size / window)
        last = out == 1
        defines = {"REDUCE_OP": op, "REDUCE_INIT": _INIT[op], "PARTIAL": size % window != 0,
                   "PRE": pre if first else PRE_NONE, "POST": post if last else POST_NONE}
        sizes = {"WINDOW": window, "IN_SIZE": size}
        if last and post in (POST_DIVIDE, POST_INT_DIVIDE):
            sizes["COUNT"] = count
        names, inputs = ("A",), [current]
        if first and pre == PRE_EXP_SHIFTED:
            names, inputs = ("A", "B"), [current, shift]
        program = Program("reduce", ("reduction/reduce.glsl",), names, defines, sizes=sizes, shape_uniforms=True,
                          constant_sizes=_WINDOW, may_divide=True)
        result = backend.run_program(program, inputs, (batch, out), out_dtype if last else "float32")
        if current is not rows:
            current.dispose()
        current, size, first = result, out, False
        if last:
            return current


def rows_last(backend: WebGLBackend, x: Tensor, axes: list[int]) -> Tensor:
    """x with `axes` moved last (a transpose only when they are not already), viewed as
    (batch, prod of the axes' sizes)."""
    kept = [a for a in range(x.rank) if a not in axes]
    moved = transpose_tensor(backend, x, kept + list(axes))
    count = math.prod(x.shape[a] for a in axes)
    return view(backend, moved, (x.size // max(count, 1), count))


def reduce_tensor(backend: WebGLBackend, x: Tensor, axes, op: str, keep_dims: bool = False) -> Tensor:
    """The reduction `op` (Sum Prod Mean Max Min All Any EuclideanNorm) of x over `axes`."""
    axes = sorted({int(a) % max(x.rank, 1) for a in axes})
    out_shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape)) if keep_dims else \
        tuple(d for a, d in enumerate(x.shape) if a not in axes)
    if x.size == 0:  # identities (or empty results): the CPU kernel's, with no values to read
        axes_tensor = Tensor(np.array(axes, np.int32), "int32")
        return backend.run_on_cpu(op, [x, axes_tensor], {"keep_dims": keep_dims})[0]
    require_gl_dtypes(x)
    if not axes and op != "EuclideanNorm":
        return x
    if op == "Prod" and x.dtype == "int32":
        raise CPUFallback("integer products wrap around past 2^31; floats hold them exactly only to 2^24")
    count = math.prod(x.shape[a] for a in axes)
    integer = x.dtype == "int32"
    code, pre, post, dtype = {
        "Sum": (SUM, PRE_NONE, POST_NONE, x.dtype),
        "Prod": (PROD, PRE_NONE, POST_NONE, x.dtype),
        "Max": (MAX, PRE_NONE, POST_NONE, x.dtype),
        "Min": (MIN, PRE_NONE, POST_NONE, x.dtype),
        "All": (ALL, PRE_NONE, POST_NONE, "bool"),
        "Any": (ANY, PRE_NONE, POST_NONE, "bool"),
        "Mean": (SUM, PRE_NONE, POST_INT_DIVIDE if integer else POST_DIVIDE, x.dtype),
        "EuclideanNorm": (SUM, PRE_SQUARE, POST_INT_SQRT if integer else POST_SQRT, x.dtype),
    }[op]
    result = reduce_rows(backend, rows_last(backend, x, axes), code, dtype, pre, post, count)
    return reshaped(result, out_shape)


def _reduce(backend, op: str, x: Tensor, axis: Tensor, keep_dims: bool) -> Tensor:
    axes = reduction_axes(np.array(ints(axis), np.int64), x.rank)
    return reduce_tensor(backend, x, axes, op, keep_dims)


@KERNELS.define("Sum")
def sum_(backend, x, axis, *, keep_dims: bool = False):
    return _reduce(backend, "Sum", x, axis, keep_dims)


@KERNELS.define("Prod")
def prod(backend, x, axis, *, keep_dims: bool = False):
    return _reduce(backend, "Prod", x, axis, keep_dims)


@KERNELS.define("Mean")
def mean(backend, x, axis, *, keep_dims: bool = False):
    """Float means divide the sum by the count; integer ones truncate toward zero, as TensorFlow."""
    return _reduce(backend, "Mean", x, axis, keep_dims)


@KERNELS.define("Max")
def max_(backend, x, axis, *, keep_dims: bool = False):
    """NaN wins, as TensorFlow's reducer."""
    return _reduce(backend, "Max", x, axis, keep_dims)


@KERNELS.define("Min")
def min_(backend, x, axis, *, keep_dims: bool = False):
    return _reduce(backend, "Min", x, axis, keep_dims)


@KERNELS.define("All")
def all_(backend, x, axis, *, keep_dims: bool = False):
    return _reduce(backend, "All", x, axis, keep_dims)


@KERNELS.define("Any")
def any_(backend, x, axis, *, keep_dims: bool = False):
    return _reduce(backend, "Any", x, axis, keep_dims)


# -- ArgMax / ArgMin ---------------------------------------------------------------------------------------
def arg_reduce_tensor(backend: WebGLBackend, x: Tensor, axis: int, largest: bool) -> Tensor:
    """First index of the extremum along `axis` (int32, a non-empty axis: resolve's arg_axis), with
    TensorFlow's NaN rules (see the shader)."""
    require_gl_dtypes(x)
    out_shape = tuple(d for a, d in enumerate(x.shape) if a != axis)
    if math.prod(out_shape) == 0:
        return empty(out_shape, "int32")
    values = rows_last(backend, x, [axis])
    batch, size = values.shape
    if x.dtype == "float32":
        start = float(np.finfo(np.float32).min if largest else np.finfo(np.float32).max)
    else:
        start = float("-inf") if largest else float("inf")
    indices = None
    while indices is None or size > 1:
        window = window_size(size)
        out = math.ceil(size / window)
        defines = {"LARGEST": largest, "START": start, "PARTIAL": size % window != 0, "FIRST_PASS": indices is None}
        names, inputs = (("A",), [values]) if indices is None else (("A", "I"), [values, indices])
        program = Program("arg_reduce", ("reduction/arg_reduce.glsl",), names, defines,
                          sizes={"WINDOW": window, "IN_SIZE": size}, shape_uniforms=True, constant_sizes=_WINDOW,
                          layout_blind=True)
        result = backend.run_program(program, inputs, (batch, out), "int32")
        if indices is not None:
            indices.dispose()
        indices, size = result, out
    return reshaped(indices, out_shape)


def _arg(backend, x: Tensor, dimension: Tensor, largest: bool) -> Tensor:
    return arg_reduce_tensor(backend, x, arg_axis(ints(dimension), x.shape), largest)


@KERNELS.define("ArgMax")
def arg_max(backend, x, dimension, *, output_type: str = "int64"):
    return _arg(backend, x, dimension, largest=True)


@KERNELS.define("ArgMin")
def arg_min(backend, x, dimension, *, output_type: str = "int64"):
    return _arg(backend, x, dimension, largest=False)


# -- Cumsum / Cumprod --------------------------------------------------------------------------------------
def scan_tensor(backend: WebGLBackend, x: Tensor, axis: int, exclusive: bool, reverse: bool,
                product: bool) -> Tensor:
    """Cumulative sum (product) along `axis`: one in-order pass for short axes, else a
    Hillis-Steele scan of ceil(log2 n) passes (the same program each time, the step a uniform)."""
    require_gl_dtypes(x)
    if x.size == 0:
        return empty(x.shape, x.dtype)
    n = x.shape[axis]
    x3 = view(backend, x, (math.prod(x.shape[:axis]), n, math.prod(x.shape[axis + 1:])))
    defines = {"PROD": product, "REVERSE": reverse, "IDENTITY": 1.0 if product else 0.0, "SCAN_SIZE": n}
    if n <= DIRECT_SCAN_MAX:
        program = Program("scan", ("reduction/scan.glsl",), ("A",), dict(defines, EXCLUSIVE=exclusive))
        return reshaped(backend.run_program(program, [x3], x3.shape, x.dtype), x.shape)
    current, step = x3, 1
    while step < n:
        program = Program("scan_step", ("reduction/scan_step.glsl",), ("A",),
                          dict(defines, SHIFT=exclusive and step == 1), {"scanStep": step})
        result = backend.run_program(program, [current], x3.shape, x.dtype)
        if current is not x3:
            current.dispose()
        current, step = result, step * 2
    return reshaped(current, x.shape)


def _scan(backend, x: Tensor, axis: Tensor, exclusive: bool, reverse: bool, product: bool) -> Tensor:
    (axis,) = reduction_axes(np.array(ints(axis), np.int64), x.rank)
    return scan_tensor(backend, x, axis, exclusive, reverse, product)


@KERNELS.define("Cumsum")
def cumsum(backend, x, axis, *, exclusive: bool = False, reverse: bool = False):
    return _scan(backend, x, axis, exclusive, reverse, product=False)


@KERNELS.define("Cumprod")
def cumprod(backend, x, axis, *, exclusive: bool = False, reverse: bool = False):
    return _scan(backend, x, axis, exclusive, reverse, product=True)


# -- Bincount / DenseBincount ------------------------------------------------------------------------------
# llvmpipe ends a fragment's loops after 65535 iterations in all (a silent cap); the shader reads 16
# values per iteration, so a row may hold up to about 16 * 60000 values.
LOOP_TRIPS_MAX = 60000
MAX_BINCOUNT_VALUES = 16 * LOOP_TRIPS_MAX  # values one fragment loops over (a row's length)
MAX_BINCOUNT_WORK = 1 << 25     # output bins x row length one draw loops over (about 0.3 s on llvmpipe)


def bincount_rows(backend: WebGLBackend, values: Tensor, rows: int, size_input: Tensor, weights: Tensor,
                  binary: bool) -> Tensor:
    """Bincount of each of `rows` rows of `values` (read flat) into `size` bins -> (rows, size), of the
    weights' dtype. Each output bin loops over its row (slice_join-like: one fragment per bin).
    Checks are the CPU kernel's (negative values only when their values are on the CPU: on the GPU
    they land in no bin); rows too long, or too much work for one draw, run on the CPU."""
    require_gl_dtypes(values, weights)
    size = first_int(size_input.numpy())
    check_bincount(size, values.numpy() if values.has_values() else None)
    weighted = weights.size > 0 and not binary
    if weights.size and weights.size != values.size:
        raise ValueError(f"weights of shape {list(weights.shape)} do not match arr of shape {list(values.shape)}")
    n = values.size // rows if rows else 0
    if rows * size == 0:
        return empty((rows, size), weights.dtype)
    if n == 0:
        return fill(backend, (rows, size), 0.0, weights.dtype)
    if n > MAX_BINCOUNT_VALUES or rows * size * n > MAX_BINCOUNT_WORK:
        raise CPUFallback(f"{values.size} values into {rows} x {size} bins are too many to loop over")
    names, inputs = ("A",), [values]
    if weighted:
        names, inputs = ("A", "W"), [values, weights]
    program = Program("bincount", ("reduction/bincount.glsl",), names,
                      {"N": n, "BINARY": binary, "WEIGHTED": weighted})
    return backend.run_program(program, inputs, (rows, size), weights.dtype)


@KERNELS.define("Bincount")
def bincount(backend, arr, size, weights):
    """Counts of each value of `arr` (any shape) in [0, size), or sums of `weights` there; larger
    values are dropped. The output has the weights' dtype even when weights is empty (plain counts)."""
    counts = bincount_rows(backend, arr, 1, size, weights, binary=False)
    return reshaped(counts, counts.shape[1:])


@KERNELS.define("DenseBincount")
def dense_bincount(backend, values, size, weights, *, binary_output: bool = False):
    """Bincount of a vector, or of each row of a matrix; `binary_output` marks presence (ignoring weights)."""
    rows = values.shape[0] if values.rank == 2 else 1
    if values.rank > 2:
        raise ValueError(f"DenseBincount: values must be a vector or a matrix, got shape {list(values.shape)}")
    counts = bincount_rows(backend, values, rows, size, weights, binary_output)
    return reshaped(counts, counts.shape[1:]) if values.rank <= 1 else counts


# -- UnsortedSegmentSum -------------------------------------------------------------------------------------
@KERNELS.define("UnsortedSegmentSum")
def unsorted_segment_sum(backend, data, segment_ids, num_segments):
    """One fragment per output value loops over every id (as bincount_rows, with its limits: more
    runs the CPU kernel). Ids are checked as TensorFlow does when they are on the CPU; GPU-resident
    ids are not read back, and those past the last segment are dropped like negative ones."""
    num = first_int(num_segments.numpy())
    out_shape = segment_sum_shape(data.shape, segment_ids.shape, num)
    if segment_ids.has_values():
        check_segment_ids(segment_ids.numpy(), num)
    n, inner = segment_ids.size, math.prod(out_shape[1:])
    if num * inner == 0:
        return empty(out_shape, data.dtype)
    if n == 0:
        return fill(backend, out_shape, 0.0, data.dtype)
    require_gl_dtypes(data, segment_ids)
    if n > MAX_BINCOUNT_VALUES or num * inner * n > MAX_BINCOUNT_WORK:
        raise CPUFallback(f"{n} segment ids into {num} x {inner} sums are too many to loop over")
    program = Program("unsorted_segment_sum", ("reduction/segment_sum.glsl",), ("A", "S"), {"N": n})
    inputs = [view(backend, data, (n, inner)), view(backend, segment_ids, (n,))]
    return reshaped(backend.run_program(program, inputs, (num, inner), data.dtype), out_shape)
