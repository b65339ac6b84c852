"""GL kernels of the basic_math family: elementwise unary math and activations, Atan2, Prelu and
ClipByValue.

The transcendental functions don't use the driver's exp/log/sin/...: those are approximations (llvmpipe's
exp is off by ~50 ulp for large x, its log loses relative accuracy near 1, GPUs' sin has an absolute error
bound), so shaders/basic_math/lib_*.glsl implement them to about 1 ulp in float32 with explicit NaN/Inf
handling. Ops TensorFlow only defines on floats run on the GPU for float32 and hand other dtypes to the
CPU kernel (CPUFallback); complex parts, Complex and the FakeQuant family have no GL kernel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.kernels.registry import KernelTable
from engine.kernels.webgl import packed
from engine.kernels.webgl.common import broadcast_shape, require_gl_dtypes, ternary
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


def _program(name: str, libs: tuple[str, ...], template: str, inputs: tuple[str, ...], integer: bool,
             uniforms: dict | None = None) -> Program:
    shader = f"basic_math/{name}.glsl"
    return Program(shader, (*libs, shader, f"templates/{template}.glsl"), inputs, {"INTEGER": integer}, uniforms)


def _unary(backend: WebGLBackend, x: Tensor, name: str, libs: tuple[str, ...] = (), integers: bool = False,
           out_dtype: str | None = None, uniforms: dict | None = None) -> Tensor:
    """Runs basic_math/<name>.glsl over x. `integers`: the shader keeps int32 semantics; otherwise only
    float32 runs here (TensorFlow has float kernels only; the CPU kernel answers for other dtypes)."""
    if x.dtype != "float32" and not (integers and x.dtype == "int32"):
        raise CPUFallback(f"{name} on {x.dtype} runs the CPU kernel")
    program = _program(name, libs, "unary", ("A",), x.dtype == "int32", uniforms)
    if (out_dtype or x.dtype) == "float32":
        result = packed.elementwise(backend, [x], program.name, program.shaders[:-1], x.shape, program.defines,
                                    uniforms)
        if result is not None:
            return result
    return backend.run_program(program, [x], x.shape, out_dtype or x.dtype)


# op -> (shader name, GLSL libraries, keeps int32 semantics, output dtype)
_UNARY = {
    "Abs": ("abs", (), True, None), "Neg": ("neg", (), True, None), "Square": ("square", (), True, None),
    "Sign": ("sign", (), True, None), "Ceil": ("ceil", (), True, None), "Floor": ("floor", (), True, None),
    "Round": ("round", (), True, None), "Rint": ("round", (), True, None),
    "Relu": ("relu", (), True, None), "Relu6": ("relu6", (), True, None),
    "IsNan": ("is_nan", (), False, "bool"), "IsInf": ("is_inf", (), False, "bool"),
    "IsFinite": ("is_finite", (), False, "bool"),
    "Reciprocal": ("reciprocal", (), False, None), "Inv": ("reciprocal", (), False, None),
    "Sqrt": ("sqrt", (), False, None), "Rsqrt": ("rsqrt", (), False, None),
    "Softsign": ("softsign", (), False, None), "Erf": ("erf", (), False, None),
    "Exp": ("exp", _EXP, False, None), "Expm1": ("expm1", _EXP, False, None),
    "Sinh": ("sinh", _EXP, False, None), "Cosh": ("cosh", _EXP, False, None),
    "Tanh": ("tanh", _EXP, False, None), "Sigmoid": ("sigmoid", _EXP, False, None),
    "Elu": ("elu", _EXP, False, None), "Selu": ("selu", _EXP, False, None),
    "Softplus": ("softplus", _EXP + _LOG, False, None),
    "Log": ("log", _LOG, False, None), "Log1p": ("log1p", _LOG, False, None),
    "Asinh": ("asinh", _LOG, False, None), "Acosh": ("acosh", _LOG, False, None),
    "Atanh": ("atanh", _LOG, False, None),
    "Sin": ("sin", _TRIG, False, None), "Cos": ("cos", _TRIG, False, None), "Tan": ("tan", _TRIG, False, None),
    "Asin": ("asin", _INVERSE_TRIG, False, None), "Acos": ("acos", _INVERSE_TRIG, False, None),
    "Atan": ("atan", _INVERSE_TRIG, False, None),
}


def _unary_kernel(name: str, libs: tuple[str, ...], integers: bool, out_dtype: str | None):
    def kernel(backend, x):
        return _unary(backend, x, name, libs, integers, out_dtype)
    kernel.__name__ = kernel.__qualname__ = name
    return kernel


for _op, (_name, _libs, _integers, _out_dtype) in _UNARY.items():
    KERNELS.define(_op)(_unary_kernel(_name, _libs, _integers, _out_dtype))


@KERNELS.define("LeakyRelu")
def leaky_relu(backend, features, *, alpha: float = 0.2):
    """alpha is a uniform: every alpha shares one compiled program."""
    return _unary(backend, features, "leaky_relu", uniforms={"leakyReluAlpha": float(np.float32(alpha))})


@KERNELS.define("Atan2")
def atan2(backend, y, x):
    if y.dtype != "float32" or x.dtype != "float32":
        raise CPUFallback("Atan2 runs on float32 only")
    program = _program("atan2", _INVERSE_TRIG, "binary", ("A", "B"), False)
    return backend.run_program(program, [y, x], broadcast_shape(y.shape, x.shape), "float32")


@KERNELS.define("Prelu")
def prelu(backend, x, alpha):
    """TF.js's fused PReLU: alpha (broadcast against x) scales the negative part."""
    require_gl_dtypes(x, alpha)
    program = _program("prelu", (), "binary", ("A", "B"), x.dtype == "int32")
    return backend.run_program(program, [x, alpha], broadcast_shape(x.shape, alpha.shape), x.dtype)


@KERNELS.define("ClipByValue")
def clip_by_value(backend, t, clip_value_min, clip_value_max):
    """Bounds broadcast into t's shape (scalars or t's shape in TensorFlow); anything else runs the CPU
    kernel, which broadcasts them as numpy does."""
    shape = broadcast_shape(broadcast_shape(t.shape, clip_value_min.shape), clip_value_max.shape)
    if shape != t.shape:
        raise CPUFallback(f"bounds of shapes {clip_value_min.shape} and {clip_value_max.shape} widen {t.shape}")
    return ternary(backend, t, clip_value_min, clip_value_max, "basic_math/clip_by_value.glsl", t.shape, t.dtype,
                   defines={"INTEGER": t.dtype == "int32"})


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
    program = _program("complex_abs", (), "binary", ("A", "B"), False)
    return backend.run_program(program, [re, im], x.shape, "float32")
