"""Building blocks of GL kernels: elementwise unary/binary programs and shape helpers."""
from __future__ import annotations

import numpy as np

from engine.kernels.webgl import packed
from engine.tensor import Tensor
from engine.webgl.backend import CPUFallback, WebGLBackend
from engine.webgl.program import Program

GL_DTYPES = ("float32", "int32", "bool")


def require_gl_dtypes(*tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype not in GL_DTYPES:
            raise CPUFallback(f"{t.dtype} stays on the CPU")


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ValueError(f"shapes {list(a)} and {list(b)} do not broadcast") from None


def unary(backend: WebGLBackend, x: Tensor, shader: str, out_dtype: str | None = None,
          defines: dict | None = None, uniforms: dict | None = None) -> Tensor:
    """Runs `shader` (defining `float unary_op(float)`) over every element of x."""
    require_gl_dtypes(x)
    defines = {"INTEGER": x.dtype == "int32", **(defines or {})}
    if (out_dtype or x.dtype) == "float32":
        result = packed.elementwise(backend, [x], shader, (shader,), x.shape, defines, uniforms)
        if result is not None:
            return result
    program = Program(shader, (shader, "templates/unary.glsl"), ("A",), defines, uniforms)
    return backend.run_program(program, [x], x.shape, out_dtype or x.dtype)


def binary(backend: WebGLBackend, a: Tensor, b: Tensor, shader: str, out_dtype: str | None = None,
           defines: dict | None = None) -> Tensor:
    """Runs `shader` (defining `float binary_op(float, float)`) with broadcasting."""
    require_gl_dtypes(a, b)
    shape = broadcast_shape(a.shape, b.shape)
    defines = {"INTEGER": a.dtype == "int32", **(defines or {})}
    if (out_dtype or a.dtype) == "float32":
        result = packed.elementwise(backend, [a, b], shader, (shader,), shape, defines)
        if result is not None:
            return result
    program = Program(shader, (shader, "templates/binary.glsl"), ("A", "B"), defines)
    return backend.run_program(program, [a, b], shape, out_dtype or a.dtype)
