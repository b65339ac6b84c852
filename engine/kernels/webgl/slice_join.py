"""GL kernels of the slice/join family: concat, pack, unpack, split, slice, strided slice, tile,
reverse, gather and gather_nd. Unpacked R32F textures, one value per texel.

Shape-like inputs (axis, begin/end/strides, sizes, multiples) are read on the CPU with `numpy()`; in
real graphs they are CPU constants. They are resolved and validated by engine/kernels/resolve, as the
CPU kernels' are, so both backends reject the same specs with the same messages.

Most ops here are index maps: every output element copies one input element. Slice-like ops
(Slice, StridedSlice, Split, SplitV, Unpack, Reverse) share one program, out[c] = A[begin + stride * c],
whose begin/stride are uniforms, so the slices of one split share a compiled program. Dimensions a
slice takes whole are merged first, which lowers the rank (and lifts the GPU's rank-6 limit for them).

String and complex tensors have no texture form: as TF.js's WebGL kernels do, these ops run the CPU
implementation on them directly (they never were on the GPU, so this is not counted as a fallback).

ScatterNd, TensorScatterUpdate and SparseToDense are one program (slice_join/scatter_nd.glsl) in
which each output element gathers the updates that land on it (TF.js's scatter loops over all of
them). Index values on the CPU (constants, as in real graphs) are checked as TensorFlow does (the
checks and messages of resolve.slice_join, as on the CPU), then sorted (stably) into (block, update row) pairs, so a
fragment binary-searches its block and walks its updates in update order: repeated indices sum in
the CPU's order (ScatterNd) or the last one wins (TensorScatterUpdate, SparseToDense without
validation). Index values only on the GPU are not read back: every fragment loops over all updates,
and index tuples outside the output are ignored, as in TF.js (TensorFlow would reject them);
SparseToDense's sortedness is then not checked either (repeats: the last one wins). When that loop
would be too long (output size x updates x depth over MAX_SCATTER_WORK, or more iterations per
fragment than llvmpipe runs: it silently ends a fragment's loops after 65535 in all), the kernel
reads the indices back after all, checks them and takes the sorted path. A ScatterNd with more
than ~60000 updates on one slice runs on the CPU (CPUFallback). Integer sums are exact while they
stay below 2**24 (textures hold floats, as in TF.js); bool sums are a logical or.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.resolve.slice_join import (
    check_bounds, check_index_depth, check_scatter_output, check_sparse_order, check_sparse_shapes, concat_axis,
    flat_positions, gather_batch_dims, reverse_axes, reverse_dims, scatter_depth, slice_counts, split_sizes,
    split_v_sizes, strided_slice_ranges, tile_multiples,
)
from engine.kernels.resolve.values import normalize_axis
from engine.kernels.webgl.common import empty, has_texture_form, index_map, ints, scalar, uniform_array
from engine.kernels.webgl.creation import fill
from engine.tensors import Tensor, alias
from engine.webgl.compiler import strides as strides_of
from engine.webgl.program import CPUFallback, Program

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()

MAX_CONCAT_INPUTS = 8  # samplers per concat program; more inputs concatenate in a tree of programs
MIN_GATHER_DEPTH = 6   # index tuples a gather_nd program takes at least (deeper ones get their own)


# -- shared helpers (also used by the transformation and creation GL kernels) ------------------------

















def strided_copy(backend: WebGLBackend, x: Tensor, begin, stride, size) -> Tensor:
    """out[c] = x[begin + stride * c] (per dimension), out.shape = size: one affine map of flat indices,
    out[c] = x.flat[base + sum_i step_i * c_i], over the output's dimensions of size > 1, with
    neighbours merged where the outer step is the inner step times the inner size."""
    size = tuple(int(s) for s in size)
    if size == x.shape and all(b == 0 for b in begin) and all(s == 1 for s in stride):
        return x
    if math.prod(size) == 0:
        return empty(size, x.dtype)
    in_strides = strides_of(x.shape)
    base = sum(int(b) * s for b, s in zip(begin, in_strides))
    merged: list[list[int]] = []
    for n, step in ((n, int(st) * s) for n, st, s in zip(size, stride, in_strides) if n != 1):
        if merged and merged[-1][1] == step * n:
            merged[-1] = [merged[-1][0] * n, step]
        else:
            merged.append([n, step])
    uniforms = {"u_base": base}
    if merged:
        uniforms["u_step"] = uniform_array(step for _, step in merged)
    # Shape-generic: ~4% more per draw on llvmpipe than constant sizes (a slice's output is natural).
    out = index_map(backend, alias(x, (x.size,)), [n for n, _ in merged], "slice_join/strided.glsl",
                    uniforms=uniforms, shape_uniforms=True)
    return alias(out, size)


def slice_axis(backend: WebGLBackend, x: Tensor, axis: int, start: int, count: int) -> Tensor:
    begin = [0] * x.rank
    begin[axis] = start
    size = list(x.shape)
    size[axis] = count
    return strided_copy(backend, x, begin, [1] * x.rank, size)


def concat_2d(backend: WebGLBackend, parts: list[Tensor], dtype: str) -> Tensor:
    """Concatenates (outer, inner_k) tensors along their columns."""
    parts = [p for p in parts if p.size]
    if len(parts) == 1:
        return parts[0]
    if len(parts) > MAX_CONCAT_INPUTS:
        groups = [parts[i:i + MAX_CONCAT_INPUTS] for i in range(0, len(parts), MAX_CONCAT_INPUTS)]
        return concat_2d(backend, [concat_2d(backend, g, dtype) for g in groups], dtype)
    offsets = np.cumsum([0] + [p.shape[1] for p in parts])
    program = Program("concat", ("slice_join/concat.glsl",), tuple(f"T{k}" for k in range(len(parts))),
                      {"NUM_INPUTS": len(parts)}, sizes={f"OFFSET_{k}": int(offsets[k]) for k in range(1, len(parts))},
                      shape_uniforms=True)
    return backend.run_program(program, parts, (parts[0].shape[0], int(offsets[-1])), dtype)


def _concat(backend: WebGLBackend, op: str, values: list[Tensor], axis_input: Tensor, cpu_inputs: list) -> Tensor:
    if not has_texture_form(*values):
        return backend.run_on_cpu(op, cpu_inputs, {})
    rank = values[0].rank
    axis = concat_axis(scalar(axis_input), rank, op)
    first = values[0].shape
    for v in values[1:]:
        if v.rank != rank or v.shape[:axis] != first[:axis] or v.shape[axis + 1:] != first[axis + 1:]:
            raise ValueError(f"{op}: shapes {[list(t.shape) for t in values]} do not match outside axis {axis}")
    if len({v.dtype for v in values}) > 1:
        raise ValueError(f"{op}: inputs have different dtypes {[v.dtype for v in values]}")
    out_shape = first[:axis] + (sum(v.shape[axis] for v in values),) + first[axis + 1:]
    outer = math.prod(first[:axis])
    parts = [alias(v, (outer, v.size // outer if outer else 0)) for v in values]
    if math.prod(out_shape) == 0:
        return empty(out_shape, values[0].dtype)
    return alias(concat_2d(backend, parts, values[0].dtype), out_shape)


# -- joining ----------------------------------------------------------------------------------------

@KERNELS.define("ConcatV2")
def concat_v2(backend, *values_and_axis):
    values = list(values_and_axis[:-1])
    return _concat(backend, "ConcatV2", values, values_and_axis[-1], list(values_and_axis))


@KERNELS.define("Concat")
def concat(backend, axis, *values):
    return _concat(backend, "Concat", list(values), axis, [axis, *values])


@KERNELS.define("Pack")
def pack(backend, *values, axis: int = 0):
    if not has_texture_form(*values):
        return backend.run_on_cpu("Pack", list(values), {"axis": axis})
    shape = values[0].shape
    if any(v.shape != shape for v in values):
        raise ValueError(f"Pack: all inputs must have the same shape, got {[list(v.shape) for v in values]}")
    axis = normalize_axis(axis, len(shape) + 1, "Pack")
    out_shape = shape[:axis] + (len(values),) + shape[axis:]
    outer = math.prod(shape[:axis])
    inner = math.prod(shape[axis:])
    if math.prod(out_shape) == 0:
        return empty(out_shape, values[0].dtype)
    return alias(concat_2d(backend, [alias(v, (outer, inner)) for v in values], values[0].dtype), out_shape)


@KERNELS.define("Unpack")
def unpack(backend, value, *, axis: int = 0):
    if not has_texture_form(value):
        return backend.run_on_cpu("Unpack", [value], {"axis": axis})
    axis = normalize_axis(axis, value.rank, "Unpack")
    shape = value.shape[:axis] + value.shape[axis + 1:]
    return [alias(slice_axis(backend, value, axis, i, 1), shape) for i in range(value.shape[axis])]


@KERNELS.define("Tile")
def tile(backend, x, multiples):
    if not has_texture_form(x):
        return backend.run_on_cpu("Tile", [x, multiples])
    reps = tile_multiples(ints(multiples), x.rank)
    out_shape = tuple(d * r for d, r in zip(x.shape, reps))
    if out_shape == x.shape:
        return x
    if math.prod(out_shape) == 0:
        return empty(out_shape, x.dtype)
    return index_map(backend, x, out_shape, "slice_join/tile.glsl")


# -- splitting --------------------------------------------------------------------------------------

def _split_at(backend, value: Tensor, axis: int, sizes: list[int]) -> list[Tensor]:
    starts = np.cumsum([0] + sizes[:-1])
    return [slice_axis(backend, value, axis, int(s), n) for s, n in zip(starts, sizes)]


@KERNELS.define("Split")
def split(backend, axis, value, *, num_split: int):
    if not has_texture_form(value):
        return backend.run_on_cpu("Split", [axis, value], {"num_split": num_split})
    axis = normalize_axis(scalar(axis), value.rank, "Split")
    return _split_at(backend, value, axis, split_sizes(num_split, value.shape[axis], axis))


@KERNELS.define("SplitV")
def split_v(backend, value, size_splits, axis):
    if not has_texture_form(value):
        return backend.run_on_cpu("SplitV", [value, size_splits, axis])
    axis = normalize_axis(scalar(axis), value.rank, "SplitV")
    return _split_at(backend, value, axis, split_v_sizes(ints(size_splits), value.shape[axis], axis))


# -- slicing ----------------------------------------------------------------------------------------

@KERNELS.define("Slice")
def slice_(backend, x, begin, size):
    if not has_texture_form(x):
        return backend.run_on_cpu("Slice", [x, begin, size])
    starts = ints(begin)
    counts = slice_counts(starts, ints(size), x.shape)
    return strided_copy(backend, x, starts, [1] * x.rank, counts)


@KERNELS.define("StridedSlice")
def strided_slice(backend, x, begin, end, strides, *, begin_mask: int = 0, end_mask: int = 0,
                  ellipsis_mask: int = 0, new_axis_mask: int = 0, shrink_axis_mask: int = 0):
    """The spec resolves (as on the CPU) to each input dimension's (first, count, stride); one
    strided copy reads them; shrunk and new axes are a reshape of its output."""
    if not has_texture_form(x):
        return backend.run_on_cpu("StridedSlice", [x, begin, end, strides],
                      {"begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
                       "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask})
    starts, sizes, steps, final = strided_slice_ranges(x.shape, ints(begin), ints(end), ints(strides), begin_mask,
                                                       end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask)
    out = strided_copy(backend, x, starts, steps, sizes)
    return out if final == out.shape else alias(out, final)


@KERNELS.define("Reverse")
def reverse(backend, x, dims):
    if not has_texture_form(x):
        return backend.run_on_cpu("Reverse", [x, dims])
    return _reverse(backend, x, reverse_dims(dims.numpy(), x.rank))


@KERNELS.define("ReverseV2")
def reverse_v2(backend, x, axis):
    if not has_texture_form(x):
        return backend.run_on_cpu("ReverseV2", [x, axis])
    return _reverse(backend, x, reverse_axes(ints(axis), x.rank))


def _reverse(backend, x: Tensor, axes: list[int]) -> Tensor:
    axes = [a for a in axes if x.shape[a] > 1]
    if not axes:
        return x
    begin = [x.shape[a] - 1 if a in axes else 0 for a in range(x.rank)]
    stride = [-1 if a in axes else 1 for a in range(x.rank)]
    return strided_copy(backend, x, begin, stride, x.shape)


# -- gather -----------------------------------------------------------------------------------------

def _index_values(indices: Tensor) -> np.ndarray | None:
    """The indices' values when they are on the CPU (then they are validated as TensorFlow does);
    None when they live only on the GPU, where out-of-range indices give 0, as in TF.js."""
    return np.asarray(indices.numpy()) if indices.has_values() else None


@KERNELS.define("Gather")
def gather(backend, params, indices):
    return _gather(backend, params, indices, 0, 0, "Gather", [params, indices], {})


@KERNELS.define("GatherV2")
def gather_v2(backend, params, indices, axis, *, batch_dims: int = 0):
    return _gather(backend, params, indices, scalar(axis), batch_dims, "GatherV2", [params, indices, axis],
                   {"batch_dims": batch_dims})


def _gather(backend, params: Tensor, indices: Tensor, axis: int, batch_dims: int, op: str, inputs, attrs):
    if not has_texture_form(params):
        return backend.run_on_cpu(op, inputs, attrs)
    axis = normalize_axis(axis, params.rank, "GatherV2")
    batch = gather_batch_dims(batch_dims, params.shape, indices.shape, axis)
    values = _index_values(indices)
    if values is not None:
        check_bounds(values, params.shape[axis], "GatherV2")
    out_shape = params.shape[:axis] + indices.shape[batch:] + params.shape[axis + 1:]
    if math.prod(out_shape) == 0:
        return empty(out_shape, params.dtype)
    batch_size = math.prod(params.shape[:batch])
    outer, dim, inner = math.prod(params.shape[batch:axis]), params.shape[axis], math.prod(params.shape[axis + 1:])
    count = indices.size // batch_size
    program = Program("gather", ("slice_join/gather.glsl",), ("A", "I"), shape_uniforms=True)
    out = backend.run_program(program, [alias(params, (batch_size, outer, dim, inner)),
                                        alias(indices, (batch_size, count))],
                              (batch_size, outer, count, inner), params.dtype)
    return alias(out, out_shape)


@KERNELS.define("GatherNd")
def gather_nd(backend, params, indices):
    if not has_texture_form(params):
        return backend.run_on_cpu("GatherNd", [params, indices])
    depth = indices.shape[-1]
    check_index_depth(depth, params.rank, "GatherNd")
    values = _index_values(indices)
    if values is not None:
        flat_positions(values, params.shape, "GatherNd")
    out_shape = indices.shape[:-1] + params.shape[depth:]
    if math.prod(out_shape) == 0:
        return empty(out_shape, params.dtype)
    count, slice_size = math.prod(indices.shape[:-1]), math.prod(params.shape[depth:])
    flat_params = alias(params, (math.prod(params.shape[:depth]), slice_size))
    if depth == 0:  # every (empty) index tuple selects all of params
        return alias(index_map(backend, alias(params, (1, slice_size)), (count, slice_size), "slice_join/tile.glsl"),
                     out_shape)
    # Index tuples of up to MIN_GATHER_DEPTH components share a program: the loop stops at DEPTH.
    most = max(depth, MIN_GATHER_DEPTH)
    sizes = {"DEPTH": depth}
    for j in range(most):
        sizes[f"STRIDE_{j}"] = math.prod(params.shape[j + 1:depth]) if j < depth else 0
        sizes[f"LIMIT_{j}"] = params.shape[j] if j < depth else 0
    program = Program("gather_nd", ("slice_join/gather_nd.glsl",), ("A", "I"),
                      {"MAX_DEPTH": most, "STRIDES": ", ".join(f"STRIDE_{j}" for j in range(most)),
                       "LIMITS": ", ".join(f"LIMIT_{j}" for j in range(most))}, sizes=sizes, shape_uniforms=True,
                      layout_blind=True)
    out = backend.run_program(program, [flat_params, alias(indices, (count, depth))], (count, slice_size),
                              params.dtype)
    return alias(out, out_shape)


# -- scatter ----------------------------------------------------------------------------------------

SCATTER = "slice_join/scatter_nd.glsl"
MAX_SCATTER_WORK = 1 << 26  # output elements x updates x depth one draw may loop over (unsorted path)
LOOP_TRIPS_MAX = 60000      # llvmpipe silently ends a fragment's loops after 65535 iterations in all
FLOAT_EXACT = 1 << 24       # the integers a float texture holds exactly
BASE_ZERO, BASE_TENSOR, BASE_SCALAR = 0, 1, 2


def _check_index_rank(op: str, indices: Tensor) -> None:
    if indices.rank < 1:
        raise ValueError(f"{op}: indices must have rank >= 1, got a scalar")


def _scatter_checks(op: str, indices: Tensor, updates: Tensor, out_shape: tuple[int, ...]) -> tuple[int, int]:
    """The CPU kernel's shape checks, in its order; (update count, depth)."""
    _check_index_rank(op, indices)
    depth = scatter_depth(op, indices.shape, updates.shape, out_shape)
    check_index_depth(depth, len(out_shape), op)
    return math.prod(indices.shape[:-1]), depth


def _flat_view(backend: WebGLBackend, t: Tensor) -> Tensor:
    """`t` as a vector sharing its texture (uploaded to `t` itself, so a constant uploads once)."""
    if t.size:
        backend.texture_of(t)
    return alias(t, (t.size,))


def _loop_too_long(size: int, count: int, depth: int) -> bool:
    """Whether the unsorted path (every fragment loops over all updates, and over each one's index
    components) would take too long, or more loop iterations than llvmpipe runs."""
    return size * count * depth > MAX_SCATTER_WORK or count * (depth + 1) > LOOP_TRIPS_MAX


def _scatter_positions(op: str, indices: Tensor, count: int, depth: int, out_shape: tuple[int, ...],
                       read_back: bool) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(index tuples (count, depth), their block positions) when the indices' values are on the CPU,
    or `read_back` asks for them (they are then checked as on the CPU); (None, None) otherwise."""
    if depth == 0:  # every (empty) tuple addresses the one block: nothing to read
        return np.zeros((count, 0), np.int64), np.zeros(count, np.int64)
    values = _index_values(indices)
    if values is None and read_back:
        values = np.asarray(indices.numpy())
    if values is None:
        return None, None
    tuples = values.reshape(count, depth)
    return tuples, flat_positions(tuples, out_shape, op)


def _scatter(backend: WebGLBackend, op: str, indices: Tensor, updates: Tensor, out_shape: tuple[int, ...],
             count: int, depth: int, positions: np.ndarray | None, *, accumulate: bool, base: int,
             base_input: Tensor | None = None, scalar_updates: bool = False) -> Tensor:
    """Runs slice_join/scatter_nd.glsl (count >= 1 updates) into a flat output, then views it as
    out_shape. `positions` (checked, from the CPU) selects the sorted path; None the unsorted loop
    over the GPU-resident index tuples."""
    dtype = updates.dtype
    size = math.prod(out_shape)
    if size == 0:
        return empty(out_shape, dtype)
    blocks = math.prod(out_shape[:depth])
    slice_size = size // blocks
    defines = {"SLICE": slice_size, "NUM_UPDATES": count, "SUM": accumulate, "BOOL_OR": accumulate and dtype == "bool",
               "BASE": base, "SCALAR_UPDATES": scalar_updates}
    sorted_path = positions is not None and blocks <= FLOAT_EXACT and count <= FLOAT_EXACT
    if sorted_path:
        order = np.argsort(positions, kind="stable")
        if accumulate:  # a fragment walks all the updates of its block
            _, repeats = np.unique(positions, return_counts=True)
            if count.bit_length() + 1 + int(repeats.max()) > LOOP_TRIPS_MAX:
                raise CPUFallback(f"{op}: {int(repeats.max())} updates land on one slice")
        pairs = Tensor(np.stack([positions[order], order], axis=1).astype(np.int32), "int32")
        index_input = pairs
        defines.update(SORTED=True, SEARCH_STEPS=count.bit_length() + 1)
    else:
        if _loop_too_long(size, count, depth):
            raise CPUFallback(f"{op}: {count} updates of {size} output values are too many to loop over")
        pairs = None
        index_input = _flat_view(backend, indices)
        strides = [math.prod(out_shape[j + 1:depth]) for j in range(depth)]
        defines.update(SORTED=False, DEPTH=depth, STRIDES=", ".join(map(str, strides)),
                       LIMITS=", ".join(str(d) for d in out_shape[:depth]))
    names, inputs = ["I", "U"], [index_input, _flat_view(backend, updates)]  # all read flat: any rank
    if base != BASE_ZERO:
        names.append("T" if base == BASE_TENSOR else "D")
        inputs.append(_flat_view(backend, base_input))
    program = Program("scatter_nd", (SCATTER,), tuple(names), defines)
    out = backend.run_program(program, inputs, (size,), dtype)
    if pairs is not None:
        pairs.dispose()
    return alias(out, out_shape)


def _scatter_op(backend, op: str, indices: Tensor, updates: Tensor, out_shape: tuple[int, ...], *,
                accumulate: bool, base: int, base_input: Tensor | None = None) -> Tensor | None:
    """ScatterNd / TensorScatterUpdate after the CPU kernel's checks; None when there is no update."""
    count, depth = _scatter_checks(op, indices, updates, out_shape)
    size = math.prod(out_shape)
    heavy = _loop_too_long(size, count, depth)
    _, positions = _scatter_positions(op, indices, count, depth, out_shape, read_back=heavy)
    check_scatter_output(op, count, depth, size)
    if count == 0:
        return None
    return _scatter(backend, op, indices, updates, out_shape, count, depth, positions, accumulate=accumulate,
                    base=base, base_input=base_input)


@KERNELS.define("ScatterNd")
def scatter_nd(backend, indices, updates, shape):
    """Updates at repeated indices are summed (in update order; bools: logical or)."""
    if not has_texture_form(updates):
        return backend.run_on_cpu("ScatterNd", [indices, updates, shape])
    out_shape = tuple(ints(shape))
    if any(d < 0 for d in out_shape):
        raise ValueError(f"ScatterNd: shape {list(out_shape)} has a negative dimension")
    out = _scatter_op(backend, "ScatterNd", indices, updates, out_shape, accumulate=True, base=BASE_ZERO)
    if out is None:
        return fill(backend, out_shape, 0.0, updates.dtype)
    return out


@KERNELS.define("TensorScatterUpdate")
def tensor_scatter_update(backend, tensor, indices, updates):
    """At repeated indices the last update wins; elements no update lands on copy `tensor`."""
    if not has_texture_form(tensor, updates):
        return backend.run_on_cpu("TensorScatterUpdate", [tensor, indices, updates])
    if tensor.dtype != updates.dtype:
        raise ValueError(f"TensorScatterUpdate: updates of {updates.dtype} for a tensor of {tensor.dtype}")
    out = _scatter_op(backend, "TensorScatterUpdate", indices, updates, tensor.shape, accumulate=False,
                      base=BASE_TENSOR, base_input=tensor)
    return alias(tensor) if out is None else out


@KERNELS.define("SparseToDense")
def sparse_to_dense(backend, sparse_indices, output_shape, sparse_values, default_value, *,
                    validate_indices: bool = True):
    """Elements no index addresses are default_value. sparse_values is [N] or one scalar for all.
    With validate_indices, CPU-resident indices must be sorted and unique, as TensorFlow demands."""
    if not has_texture_form(sparse_values, default_value):
        return backend.run_on_cpu("SparseToDense", [sparse_indices, output_shape, sparse_values, default_value],
                      {"validate_indices": validate_indices})
    shape = tuple(ints(output_shape))
    if sparse_indices.rank > 2:
        raise ValueError(f"SparseToDense: sparse_indices must be 0-D, 1-D or 2-D, got shape "
                         f"{list(sparse_indices.shape)}")
    if sparse_indices.rank < 2:
        count, depth = sparse_indices.size, 1
    else:
        count, depth = sparse_indices.shape
    check_sparse_shapes(depth, len(shape), sparse_values.shape, count)
    if default_value.size != 1:
        raise ValueError(f"SparseToDense: default_value must be a scalar, got shape {list(default_value.shape)}")
    size = math.prod(shape)
    heavy = _loop_too_long(size, count, depth)
    tuples, positions = _scatter_positions("SparseToDense", alias(sparse_indices, (count, depth)), count, depth, shape,
                                           read_back=heavy)
    if validate_indices and positions is not None and count > 1:
        check_sparse_order(tuples, positions)
    dtype = sparse_values.dtype
    if size == 0:
        return empty(shape, dtype)
    if count == 0:  # every element is the default
        program = Program("broadcast", ("transformation/broadcast.glsl",), ("A",))
        return alias(backend.run_program(program, [_flat_view(backend, default_value)], (size,), dtype), shape)
    return _scatter(backend, "SparseToDense", sparse_indices, sparse_values, shape, count, depth, positions,
                    accumulate=False, base=BASE_SCALAR, base_input=default_value,
                    scalar_updates=sparse_values.rank == 0)
