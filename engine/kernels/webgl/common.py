"""What GL kernels of several families share: dtype and rank checks, reading shape-like inputs, views
and empty results, transposes, and the elementwise/index-map program runners.

Kernels receive their WebGLBackend as the first argument, so nothing here (nor in any GL kernel)
imports the backend at run time.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

import shaders
from engine import dtypes
from engine.kernels.resolve.values import first_int, int_list
from engine.kernels.webgl import packed
from engine.tensors import Tensor, alias
from engine.webgl.compiler import MAX_RANK
from engine.webgl.glsl import coords_type
from engine.webgl.program import CPUFallback, Program
from engine.webgl.textures import GL_DTYPES

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend


# -- checks -------------------------------------------------------------------------------------------
def has_texture_form(*tensors: Tensor) -> bool:
    """Whether these tensors' dtypes fit in textures (strings and complex64 never do: as TF.js's WebGL
    kernels, ops on them run the CPU kernel directly, through `backend.run_on_cpu`)."""
    return all(t.dtype in GL_DTYPES for t in tensors)


def require_gl_dtypes(*tensors: Tensor) -> None:
    """Hands the op to its CPU kernel (a counted fallback) when a tensor has no texture form."""
    for t in tensors:
        if t.dtype not in GL_DTYPES:
            raise CPUFallback(f"{t.dtype} stays on the CPU")


def require_rank(*shapes) -> None:
    for shape in shapes:
        if len(shape) > MAX_RANK:
            raise CPUFallback(f"rank {len(shape)} is above the GPU's {MAX_RANK}")


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ValueError(f"shapes {list(a)} and {list(b)} do not broadcast") from None


# -- values read on the CPU -----------------------------------------------------------------------------
def ints(t: Tensor) -> list[int]:
    """A shape-like input's values (an axis, a permutation, sizes), read on the CPU."""
    return int_list(t.numpy())


def scalar(t: Tensor) -> int:
    """A scalar-like input's (first) value, read on the CPU."""
    return first_int(t.numpy())


def uniform_array(values) -> object:
    """A value for an `int name[n]` uniform: moderngl takes a bare number when n is 1."""
    values = [int(v) for v in values]
    return values[0] if len(values) == 1 else tuple(values)


# -- results without a program ----------------------------------------------------------------------------
def empty(shape: Sequence[int], dtype: str) -> Tensor:
    """A tensor with no elements (no texture, no program)."""
    return Tensor(np.zeros(tuple(shape), dtypes.NUMPY_OF[dtype]), dtype)


def view(backend: WebGLBackend, t: Tensor, shape: Sequence[int]) -> Tensor:
    """`t` under another shape of the same size, sharing its texture (uploaded once, to `t`)."""
    shape = tuple(int(d) for d in shape)
    if shape == t.shape:
        return t
    if t.size:
        backend.texture_of(t)
    return alias(t, shape)


def reshaped(result: Tensor, shape: Sequence[int]) -> Tensor:
    """A kernel's own intermediate `result` under `shape`; `result` itself is released."""
    shape = tuple(int(d) for d in shape)
    if shape == result.shape:
        return result
    out = alias(result, shape)
    result.dispose()
    return out


def fit_onto(backend: WebGLBackend, t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """An extra input of a fused op as a tensor broadcasting onto `shape` without growing it."""
    dims = list(t.shape)
    while len(dims) > len(shape) and dims[0] == 1:
        dims.pop(0)
    padded = [1] * (len(shape) - len(dims)) + dims
    if len(dims) > len(shape) or any(d not in (1, s) for d, s in zip(padded, shape)):
        raise ValueError(f"a fused input of shape {list(t.shape)} does not broadcast onto {list(shape)}")
    return view(backend, t, dims)


# -- transposes (Transpose, and the layout moves of reductions and einsums) -------------------------------
_COMPONENTS = "xyzwuv"


def _collapse_permutation(shape: Sequence[int], perm: Sequence[int]) -> tuple[list[int], list[int]]:
    """The same transpose on fewer dims: unit dims dropped, input axes that stay neighbours in the
    output merged. Returns (input shape, permutation) of the collapsed problem."""
    kept = [a for a in range(len(shape)) if shape[a] != 1]
    renumber = {a: i for i, a in enumerate(kept)}
    sizes = [shape[a] for a in kept]
    groups: list[list[int]] = []   # runs of (renumbered) input axes, in output order
    for a in (renumber[p] for p in perm if shape[p] != 1):
        if groups and groups[-1][-1] + 1 == a:
            groups[-1].append(a)
        else:
            groups.append([a])
    order = sorted(range(len(groups)), key=lambda g: groups[g][0])
    position = {g: i for i, g in enumerate(order)}
    in_shape = [math.prod(sizes[a] for a in groups[g]) for g in order]
    return in_shape, [position[g] for g in range(len(groups))]


def transpose_tensor(backend: WebGLBackend, x: Tensor, perm: Sequence[int]) -> Tensor:
    """np.transpose(x, perm) on the GPU; a permutation that moves no data is a free reshape."""
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(x.rank)):
        raise ValueError(f"{perm} is not a permutation of the {x.rank} dims of {list(x.shape)}")
    out_shape = tuple(x.shape[p] for p in perm)
    if x.size == 0:
        return empty(out_shape, x.dtype)
    require_gl_dtypes(x)
    in_shape, small_perm = _collapse_permutation(x.shape, perm)
    if small_perm == sorted(small_perm):
        return view(backend, x, out_shape)
    rank = len(small_perm)
    if rank > MAX_RANK:
        raise CPUFallback(f"a transpose of {rank} separate dims")
    source_axis_to_out = {p: i for i, p in enumerate(small_perm)}
    component = (lambda i: "c") if rank <= 1 else (lambda i: f"c.{_COMPONENTS[i]}")
    read = "getA(" + ", ".join(component(source_axis_to_out[j]) for j in range(rank)) + ")"
    program = Program("transpose", ("matrices/transpose.glsl",), ("A",),
                      {"COORDS_TYPE": coords_type(rank), "TRANSPOSE_READ": read}, shape_uniforms=True)
    small_out = [in_shape[p] for p in small_perm]
    result = backend.run_program(program, [view(backend, x, in_shape)], small_out, x.dtype)
    return reshaped(result, out_shape)


# -- program runners ---------------------------------------------------------------------------------------
def integer_define(paths: tuple[str, ...], dtype: str) -> dict:
    """INTEGER (int32 math) for the shaders that tell it apart; the others' programs serve both dtypes."""
    return {"INTEGER": dtype == "int32"} if _tells_integers(paths) else {}


@cache
def _tells_integers(paths: tuple[str, ...]) -> bool:
    return any("INTEGER" in shaders.source(path) for path in paths)


def elementwise_shapes(shapes: Sequence[tuple[int, ...]],
                       out_shape: tuple[int, ...]) -> tuple[list[tuple[int, ...]], tuple[int, ...]]:
    """The fewest dims an elementwise program over `out_shape`, with inputs of `shapes` broadcasting
    onto it, needs: unit dims dropped, neighbours that broadcast alike merged (one dim without a
    broadcast), an input's leading unit dims dropped. With shape uniforms, shapes of one broadcast
    pattern then share a program whatever their rank."""
    size = math.prod(out_shape)
    sizes = [math.prod(s) for s in shapes]
    if all(n in (size, 1) for n in sizes):
        return [(size,) if n == size else (1,) for n in sizes], (size,)
    padded = [(1,) * (len(out_shape) - len(s)) + tuple(s) for s in shapes]
    dims: list[list] = []   # [size, which inputs broadcast along it]
    for i, d in enumerate(out_shape):
        if d == 1:
            continue
        pattern = tuple(p[i] == 1 for p in padded)
        if dims and dims[-1][1] == pattern:
            dims[-1][0] *= d
        else:
            dims.append([d, pattern])
    views = []
    for j in range(len(shapes)):
        view_shape = [1 if pattern[j] else d for d, pattern in dims]
        while view_shape and view_shape[0] == 1:
            view_shape.pop(0)
        views.append(tuple(view_shape) or (1,))
    return views, tuple(d for d, _ in dims) or (1,)


def run_elementwise(backend: WebGLBackend, program: Program, inputs: Sequence[Tensor], out_shape,
                    out_dtype: str) -> Tensor:
    """Draws an elementwise `program` (shape-generic) on views of `elementwise_shapes` (into the texture
    `out_shape` gets, so that its readers find the layout they expect). A broadcast gets a program per
    shape: its coordinates would divide by uniforms, ~15% more per draw on llvmpipe, for programs
    that models rarely share."""
    out_shape = tuple(int(d) for d in out_shape)
    shapes, view_shape = elementwise_shapes([t.shape for t in inputs], out_shape)
    if len(view_shape) > 1:  # a broadcast
        program = dataclasses.replace(program, shape_uniforms=False)
    return backend.run_program(program, list(inputs), out_shape, out_dtype, views=(shapes, view_shape))


def unary(backend: WebGLBackend, x: Tensor, shader: str, out_dtype: str | None = None,
          defines: dict | None = None, uniforms: dict | None = None) -> Tensor:
    """Runs `shader` (defining `float unary_op(float)`) over every element of x."""
    require_gl_dtypes(x)
    defines = {**integer_define((shader,), x.dtype), **(defines or {})}
    if (out_dtype or x.dtype) == "float32":
        result = packed.elementwise(backend, [x], shader, (shader,), x.shape, defines, uniforms)
        if result is not None:
            return result
    program = Program(shader, (shader, "templates/unary.glsl"), ("A",), defines, uniforms, shape_uniforms=True)
    return run_elementwise(backend, program, [x], x.shape, out_dtype or x.dtype)


def binary(backend: WebGLBackend, a: Tensor, b: Tensor, shader: str, out_dtype: str | None = None,
           defines: dict | None = None, commutative: bool = False, libs: tuple[str, ...] = ()) -> Tensor:
    """Runs `shader` (defining `float binary_op(float, float)`, with the functions of `libs`) with
    broadcasting. A `commutative` op takes the larger operand first, so that x op s and s op x share
    a program."""
    require_gl_dtypes(a, b)
    if commutative and math.prod(a.shape) < math.prod(b.shape):
        a, b = b, a
    shape = broadcast_shape(a.shape, b.shape)
    defines = {**integer_define((shader,), a.dtype), **(defines or {})}
    if (out_dtype or a.dtype) == "float32":
        result = packed.elementwise(backend, [a, b], shader, (*libs, shader), shape, defines)
        if result is not None:
            return result
    program = Program(shader, (*libs, shader, "templates/binary.glsl"), ("A", "B"), defines, shape_uniforms=True)
    return run_elementwise(backend, program, [a, b], shape, out_dtype or a.dtype)


def ternary(backend: WebGLBackend, a: Tensor, b: Tensor, c: Tensor, shader: str, out_shape, out_dtype: str,
            libs: tuple[str, ...] = (), defines: dict | None = None) -> Tensor:
    """Runs `shader` (defining `float ternary_op(float, float, float)`) over `out_shape`; each input
    broadcasts against it (its dims align with the output's trailing dims)."""
    require_gl_dtypes(a, b, c)
    program = Program(shader, (*libs, shader, "templates/ternary.glsl"), ("A", "B", "C"), defines,
                      shape_uniforms=True)
    return run_elementwise(backend, program, [a, b, c], out_shape, out_dtype)


def index_map(backend: WebGLBackend, x: Tensor, out_shape, shader: str, *, defines: dict | None = None,
              uniforms: dict | None = None, out_dtype: str | None = None, shape_uniforms: bool = False,
              layout_blind: bool = False) -> Tensor:
    """Runs an index-map program (shaders/slice_join/nd.glsl + `shader`): every output element copies
    the element of x (sampler A) that `shader` picks; `shape_uniforms` and `layout_blind` as Program's."""
    require_rank(x.shape, out_shape)
    program = Program(shader, ("slice_join/nd.glsl", shader), ("A",), defines, uniforms,
                      shape_uniforms=shape_uniforms, layout_blind=layout_blind)
    return backend.run_program(program, [x], out_shape, out_dtype or x.dtype)
