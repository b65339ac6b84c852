"""GL kernels of the creation family: Fill, Zeros/Ones(Like) and OneHot.

The shape inputs (dims, depth) and scalar fill values are read on the CPU, and the values become a
uniform, so a fill of any shape needs no upload and its program is shared by every value.

Range and LinSpace have no GL kernel: their output size depends on their input values, which must be
read on the CPU anyway, and their outputs are small index vectors (TF.js's WebGL backend also
computes them on the CPU). The random ops stay on the CPU: they sample with numpy's generators.
Multinomial samples on the GPU, as in TF.js, from uniforms drawn on the host by the CPU kernel's
generator, so that a seed picks the same classes on both backends.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from engine import dtypes
from engine.errors import ModelFormatError
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.creation import multinomial_count, multinomial_uniforms, one_hot_depth
from engine.kernels.resolve.values import parse_shape
from engine.kernels.webgl.common import empty, has_texture_form, require_gl_dtypes
from engine.tensors import Tensor, alias
from engine.webgl.program import CPUFallback, Program
from engine.webgl.textures import FLOAT_EXACT, GL_DTYPES

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


def _cumulative_weights(backend: WebGLBackend, logits: Tensor) -> Tensor:
    """Each row's running sum of exp(logits - the row's max): the unnormalised CDF the samples invert."""
    axis = Tensor(np.array([1], np.int32), "int32")
    row_max = backend.run("Max", [logits, axis], {"keep_dims": True})[0]
    weights = backend.run("Exp", [backend.run("Sub", [logits, row_max])[0]])[0]
    return backend.run("Cumsum", [weights, Tensor(np.array(1, np.int32), "int32")])[0]


@KERNELS.define("Multinomial")
def multinomial(backend, logits, num_samples, *, seed: int = 0, seed2: int = 0, output_dtype: str = "int64"):
    """num_samples classes per row of [batch, classes] logits, each the inverse CDF of one uniform.

    The uniforms are the CPU kernel's; the CDF is float32 here (float64 there), so a uniform within
    float32 rounding of a class boundary (a chance of about 1e-7 per class) may pick its neighbour."""
    count = multinomial_count(logits.shape, num_samples.numpy())
    require_gl_dtypes(logits)
    batch, classes = logits.shape
    if classes >= FLOAT_EXACT:
        raise CPUFallback(f"class indices from {FLOAT_EXACT} up are not exact in float textures")
    if batch * count == 0:
        return empty((batch, count), "int32")
    uniforms = Tensor(multinomial_uniforms(seed, seed2, batch, count).astype(np.float32), "float32")
    program = Program("multinomial", ("creation/multinomial.glsl",), ("C", "U"), sizes={"CLASSES": classes},
                      loop_iterations=math.ceil(math.log2(classes + 1)), shape_uniforms=True)
    return backend.run_program(program, [_cumulative_weights(backend, logits), uniforms], (batch, count), "int32")

