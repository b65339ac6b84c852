"""GL kernels of the creation family: Fill, Zeros/Ones(Like) and OneHot.

The shape inputs (dims, depth) and scalar fill values are read on the CPU, and the values become a
uniform, so a fill of any shape needs no upload and its program is shared by every value.

Range and LinSpace have no GL kernel: their output size depends on their input values, which must be
read on the CPU anyway, and their outputs are small index vectors (TF.js's WebGL backend also
computes them on the CPU). The random ops stay on the CPU: they sample with numpy's generators.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from engine import dtypes
from engine.errors import ModelFormatError
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.creation import one_hot_depth
from engine.kernels.resolve.values import parse_shape
from engine.kernels.webgl.common import empty, has_texture_form
from engine.tensors import Tensor, alias
from engine.webgl.program import Program
from engine.webgl.textures import GL_DTYPES

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()



def fill(backend: WebGLBackend, shape, value: float, dtype: str) -> Tensor:
    """A tensor of `shape` whose every element is `value` (a uniform: one program for all values)."""
    shape = tuple(int(d) for d in shape)
    size = math.prod(shape)
    if size == 0:
        return empty(shape, dtype)
    program = Program("fill", ("creation/fill.glsl",), (), None, {"u_value": float(value)})
    return alias(backend.run_program(program, [], (size,), dtype), shape)  # flat: any rank, shared programs


def _scalar_value(t: Tensor, op: str) -> float:
    values = np.asarray(t.numpy())
    if values.size != 1:
        raise ValueError(f"{op}: expected a scalar value, got shape {list(values.shape)}")
    return float(values.reshape(-1)[0])


@KERNELS.define("Fill")
def fill_op(backend, dims, value):
    if not has_texture_form(value):
        return backend.run_on_cpu("Fill", [dims, value])
    shape = parse_shape(dims.numpy())
    if value.has_values():
        return fill(backend, shape, _scalar_value(value, "Fill"), value.dtype)
    if value.size != 1:
        raise ValueError(f"Fill: expected a scalar value, got shape {list(value.shape)}")
    size = math.prod(shape)
    if size == 0:
        return empty(shape, value.dtype)
    program = Program("broadcast", ("transformation/broadcast.glsl",), ("A",))
    return alias(backend.run_program(program, [alias(value, (1,))], (size,), value.dtype), shape)


@KERNELS.define("ZerosLike")
def zeros_like(backend, x):
    if not has_texture_form(x):
        return backend.run_on_cpu("ZerosLike", [x])
    return fill(backend, x.shape, 0.0, x.dtype)


@KERNELS.define("OnesLike")
def ones_like(backend, x):
    if not has_texture_form(x):
        return backend.run_on_cpu("OnesLike", [x])
    return fill(backend, x.shape, 1.0, x.dtype)


def _filled(backend, op: str, shape: Tensor, T: str, value: float):
    try:
        storage = dtypes.storage_dtype(T)
    except ModelFormatError:
        storage = None
    if storage not in GL_DTYPES:
        return backend.run_on_cpu(op, [shape], {"T": T})
    return fill(backend, parse_shape(shape.numpy()), value, storage)


@KERNELS.define("Ones")
def ones(backend, shape, *, T: str = "float32"):
    return _filled(backend, "Ones", shape, T, 1.0)


@KERNELS.define("Zeros")
def zeros(backend, shape, *, T: str = "float32"):
    return _filled(backend, "Zeros", shape, T, 0.0)


@KERNELS.define("OneHot")
def one_hot(backend, indices, depth, on_value, off_value, *, axis: int = -1):
    """Indices (on the GPU or not) are compared in the shader; on/off values are uniforms."""
    if not has_texture_form(on_value, off_value, indices):
        return backend.run_on_cpu("OneHot", [indices, depth, on_value, off_value], {"axis": axis})
    depth = one_hot_depth(depth.numpy(), axis, indices.rank)
    where = indices.rank if axis == -1 else axis
    out_shape = indices.shape[:where] + (depth,) + indices.shape[where:]
    dtype = on_value.dtype
    on, off = _scalar_value(on_value, "OneHot"), _scalar_value(off_value, "OneHot")
    if math.prod(out_shape) == 0:
        return empty(out_shape, dtype)
    outer, inner = math.prod(indices.shape[:where]), math.prod(indices.shape[where:])
    program = Program("one_hot", ("creation/one_hot.glsl",), ("I",), None, {"u_on": on, "u_off": off})
    out = backend.run_program(program, [alias(indices, (outer, inner))], (outer, depth, inner), dtype)
    return alias(out, out_shape)
