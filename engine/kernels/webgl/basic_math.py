"""GL kernels of the basic_math family: elementwise unary math and activations, Atan2, Prelu and
ClipByValue.

The transcendental functions don't use the driver's exp/log/sin/...: those are approximations (llvmpipe's
exp is off by ~50 ulp for large x, its log loses relative accuracy near 1, GPUs' sin has an absolute error
bound), so shaders/basic_math/lib_*.glsl implement them to about 1 ulp in float32 with explicit NaN/Inf
handling. Ops TensorFlow only defines on floats run on the GPU for float32 and hand other dtypes to the
CPU kernel (CPUFallback); complex parts, Complex and the FakeQuant family have no GL kernel.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.webgl import packed
from engine.kernels.webgl.common import broadcast_shape, integer_define, require_gl_dtypes, run_elementwise, ternary
from engine.tensors import Tensor
from engine.webgl.program import CPUFallback, Program
from engine.webgl.textures import ComplexGLData

if TYPE_CHECKING:
    from engine.backends.webgl import WebGLBackend

KERNELS = KernelTable()


_EXP = ("basic_math/lib_exp.glsl",)
_LOG = ("basic_math/lib_log.glsl",)
_TRIG = ("basic_math/lib_trig.glsl",)
_INVERSE_TRIG = ("basic_math/lib_inverse_trig.glsl",)


def _program(shader: str, libs: tuple[str, ...], template: str, inputs: tuple[str, ...], integer: bool,
             uniforms: dict | None = None) -> Program:
    return Program(shader, (*libs, shader, template), inputs,
                   integer_define((*libs, shader), "int32" if integer else "float32"), uniforms, shape_uniforms=True)


def _unary(backend: WebGLBackend, x: Tensor, shader: str, libs: tuple[str, ...] = (), integers: bool = False,
           out_dtype: str | None = None, uniforms: dict | None = None) -> Tensor:
    """Runs `shader` (a basic_math/*.glsl file) over x. `integers`: the shader keeps int32 semantics;
    otherwise only float32 runs here (TensorFlow has float kernels only; the CPU kernel answers for other
    dtypes)."""
    if x.dtype != "float32" and not (integers and x.dtype == "int32"):
        raise CPUFallback(f"{shader} on {x.dtype} runs the CPU kernel")
    program = _program(shader, libs, "templates/unary.glsl", ("A",), x.dtype == "int32", uniforms)
    if (out_dtype or x.dtype) == "float32":
        result = packed.elementwise(backend, [x], program.name, program.shaders[:-1], x.shape, program.defines,
                                    uniforms)
        if result is not None:
            return result
    return run_elementwise(backend, program, [x], x.shape, out_dtype or x.dtype)


# op -> (shader, GLSL libraries, keeps int32 semantics, output dtype)
_UNARY = {
    "Abs": ("basic_math/abs.glsl", (), True, None), "Neg": ("basic_math/neg.glsl", (), True, None),
    "Square": ("basic_math/square.glsl", (), True, None),
    "Sign": ("basic_math/sign.glsl", (), True, None), "Ceil": ("basic_math/ceil.glsl", (), True, None),
    "Floor": ("basic_math/floor.glsl", (), True, None),
    "Round": ("basic_math/round.glsl", (), True, None), "Rint": ("basic_math/round.glsl", (), True, None),
    "Relu": ("basic_math/relu.glsl", (), True, None), "Relu6": ("basic_math/relu6.glsl", (), True, None),
    "IsNan": ("basic_math/is_nan.glsl", (), False, "bool"),
    "IsInf": ("basic_math/is_inf.glsl", (), False, "bool"),
    "IsFinite": ("basic_math/is_finite.glsl", (), False, "bool"),
    "Reciprocal": ("basic_math/reciprocal.glsl", (), False, None),
    "Inv": ("basic_math/reciprocal.glsl", (), False, None),
    "Sqrt": ("basic_math/sqrt.glsl", (), False, None), "Rsqrt": ("basic_math/rsqrt.glsl", (), False, None),
    "Softsign": ("basic_math/softsign.glsl", (), False, None), "Erf": ("basic_math/erf.glsl", (), False, None),
    "Exp": ("basic_math/exp.glsl", _EXP, False, None), "Expm1": ("basic_math/expm1.glsl", _EXP, False, None),
    "Sinh": ("basic_math/sinh.glsl", _EXP, False, None), "Cosh": ("basic_math/cosh.glsl", _EXP, False, None),
    "Tanh": ("basic_math/tanh.glsl", _EXP, False, None),
    "Sigmoid": ("basic_math/sigmoid.glsl", _EXP, False, None),
    "Elu": ("basic_math/elu.glsl", _EXP, False, None), "Selu": ("basic_math/selu.glsl", _EXP, False, None),
    "Softplus": ("basic_math/softplus.glsl", _EXP + _LOG, False, None),
    "Log": ("basic_math/log.glsl", _LOG, False, None), "Log1p": ("basic_math/log1p.glsl", _LOG, False, None),
    "Asinh": ("basic_math/asinh.glsl", _LOG, False, None), "Acosh": ("basic_math/acosh.glsl", _LOG, False, None),
    "Atanh": ("basic_math/atanh.glsl", _LOG, False, None),
    "Sin": ("basic_math/sin.glsl", _TRIG, False, None), "Cos": ("basic_math/cos.glsl", _TRIG, False, None),
    "Tan": ("basic_math/tan.glsl", _TRIG, False, None),
    "Asin": ("basic_math/asin.glsl", _INVERSE_TRIG, False, None),
    "Acos": ("basic_math/acos.glsl", _INVERSE_TRIG, False, None),
    "Atan": ("basic_math/atan.glsl", _INVERSE_TRIG, False, None),
}


def _unary_kernel(shader: str, libs: tuple[str, ...], integers: bool, out_dtype: str | None):
    def kernel(backend, x):
        return _unary(backend, x, shader, libs, integers, out_dtype)
    kernel.__name__ = kernel.__qualname__ = PurePosixPath(shader).stem
    return kernel


for _op, (_shader, _libs, _integers, _out_dtype) in _UNARY.items():
    KERNELS.define(_op)(_unary_kernel(_shader, _libs, _integers, _out_dtype))


@KERNELS.define("LeakyRelu")
def leaky_relu(backend, features, *, alpha: float = 0.2):
    """alpha is a uniform: every alpha shares one compiled program."""
    return _unary(backend, features, "basic_math/leaky_relu.glsl",
                  uniforms={"leakyReluAlpha": float(np.float32(alpha))})


@KERNELS.define("Step")
def step(backend, x, *, alpha: float = 0.0):
    """TF.js's step; alpha is cast to x's dtype first (C truncation for int32), as the CPU kernel."""
    low = np.asarray(alpha, np.float64).astype(np.int32 if x.dtype == "int32" else np.float32)
    return _unary(backend, x, "basic_math/step.glsl", integers=True, uniforms={"stepAlpha": float(low)})


@KERNELS.define("Atan2")
def atan2(backend, y, x):
    if y.dtype != "float32" or x.dtype != "float32":
        raise CPUFallback("Atan2 runs on float32 only")
    program = _program("basic_math/atan2.glsl", _INVERSE_TRIG, "templates/binary.glsl", ("A", "B"), False)
    return run_elementwise(backend, program, [y, x], broadcast_shape(y.shape, x.shape), "float32")


@KERNELS.define("Prelu")
def prelu(backend, x, alpha):
    """TF.js's fused PReLU: alpha (broadcast against x) scales the negative part."""
    require_gl_dtypes(x, alpha)
    program = _program("basic_math/prelu.glsl", (), "templates/binary.glsl", ("A", "B"), x.dtype == "int32")
    return run_elementwise(backend, program, [x, alpha], broadcast_shape(x.shape, alpha.shape), x.dtype)


@KERNELS.define("ClipByValue")
def clip_by_value(backend, t, clip_value_min, clip_value_max):
    """Bounds broadcast into t's shape (scalars or t's shape in TensorFlow); anything else runs the CPU
    kernel, which broadcasts them as numpy does."""
    shape = broadcast_shape(broadcast_shape(t.shape, clip_value_min.shape), clip_value_max.shape)
    if shape != t.shape:
        raise CPUFallback(f"bounds of shapes {clip_value_min.shape} and {clip_value_max.shape} widen {t.shape}")
    return ternary(backend, t, clip_value_min, clip_value_max, "basic_math/clip_by_value.glsl", t.shape, t.dtype,
                   defines=integer_define(("basic_math/clip_by_value.glsl",), t.dtype))


# -- complex64: two float textures per tensor (as TF.js); other ops on complex run the CPU kernel --

@KERNELS.define("Complex")
def complex_(backend, real, imag):
    """Pairs two float tensors without copying them (broadcast first when their shapes differ)."""
    if real.dtype != "float32" or imag.dtype != "float32":
        raise CPUFallback("Complex takes float32 parts on the GPU")
    shape = broadcast_shape(real.shape, imag.shape)
    parts = [p if p.shape == shape else backend.run("BroadcastTo", [p, _shape_tensor(shape)])[0]
             for p in (real, imag)]
    datas = [backend.texture_of(p) for p in parts]
    for data in datas:
        data.retain()
    return Tensor(None, "complex64", shape, device=ComplexGLData(*datas))


def _shape_tensor(shape: tuple[int, ...]) -> Tensor:
    return Tensor(np.array(shape, np.int32), "int32")


@KERNELS.define("Real")
def real(backend, x):
    return backend.complex_parts(x)[0]


@KERNELS.define("Imag")
def imag(backend, x):
    return backend.complex_parts(x)[1]


@KERNELS.define("ComplexAbs")
def complex_abs(backend, x):
    re, im = backend.complex_parts(x)
    program = _program("basic_math/complex_abs.glsl", (), "templates/binary.glsl", ("A", "B"), False)
    return run_elementwise(backend, program, [re, im], x.shape, "float32")
