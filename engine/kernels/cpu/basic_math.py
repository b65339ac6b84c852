"""Basic math ops (op_list/basic_math.json): elementwise unary functions, activations, complex parts, and
the FakeQuant family (graph.json), with TensorFlow's semantics for NaN/Inf, integers and complex64; and
TF.js's Step, which has no TensorFlow op."""
from __future__ import annotations

import math

import numpy as np

from engine.kernels.registry import KernelTable

KERNELS = KernelTable()


def _unary(ufunc):
    """A kernel that applies a numpy ufunc, which already keeps float32/int32/complex64 as TF does."""
    def kernel(x):
        return ufunc(x)
    kernel.__name__ = kernel.__qualname__ = ufunc.__name__
    return kernel


_UFUNCS = {
    ("Abs",): np.abs, ("Neg",): np.negative, ("Square",): np.square, ("Sign",): np.sign,
    ("Ceil",): np.ceil, ("Floor",): np.floor,
    # TF rounds half to even, as numpy does.
    ("Round", "Rint"): np.round,
    ("Exp",): np.exp, ("Log",): np.log, ("Sqrt",): np.sqrt, ("Reciprocal", "Inv"): np.reciprocal,
    ("Sin",): np.sin, ("Cos",): np.cos, ("Tan",): np.tan,
    ("Asin",): np.arcsin, ("Acos",): np.arccos, ("Atan",): np.arctan,
    ("Sinh",): np.sinh, ("Cosh",): np.cosh, ("Tanh",): np.tanh,
    ("Asinh",): np.arcsinh, ("Acosh",): np.arccosh, ("Atanh",): np.arctanh,
    ("IsNan",): np.isnan, ("IsInf",): np.isinf, ("IsFinite",): np.isfinite,
    ("Real",): np.real, ("Imag",): np.imag, ("ComplexAbs",): np.abs, ("Conj",): np.conj, ("Angle",): np.angle,
}
for _ops, _ufunc in _UFUNCS.items():
    KERNELS.define(*_ops)(_unary(_ufunc))


@KERNELS.define("Rsqrt")
def rsqrt(x):
    return np.reciprocal(np.sqrt(x))


@KERNELS.define("Expm1")
def expm1(x):
    """numpy's expm1 has no complex loop; exp(z) - 1 is what complex inputs get."""
    return np.exp(x) - 1 if x.dtype.kind == "c" else np.expm1(x)


@KERNELS.define("Log1p")
def log1p(x):
    """numpy's log1p has no complex loop; log(1 + z) is what complex inputs get."""
    return np.log(1 + x) if x.dtype.kind == "c" else np.log1p(x)


@KERNELS.define("Sigmoid")
def sigmoid(x):
    if x.dtype.kind == "c":
        return 1 / (1 + np.exp(-x))
    return sigmoid_into(x, np.empty_like(x))


@KERNELS.define("Atan2")
def atan2(y, x):
    return np.arctan2(y, x)


@KERNELS.define("Complex")
def complex_(real, imag):
    """Parts are placed, not computed as real + 1j * imag, which would turn an infinite imag into NaN."""
    out = np.empty(np.broadcast_shapes(real.shape, imag.shape), np.complex64)
    out.real, out.imag = real, imag
    return out


@KERNELS.define("ClipByValue")
def clip_by_value(t, clip_value_min, clip_value_max):
    """As TF's min(x, hi) then max(., lo): a NaN `t` stays NaN, a NaN bound is ignored, lo wins over hi."""
    upper_clipped = np.where(clip_value_max < t, clip_value_max, t)
    return np.where(upper_clipped < clip_value_min, clip_value_min, upper_clipped).astype(t.dtype)


# --- activations --------------------------------------------------------------------------------------------

# One definition of each activation TensorFlow and TF.js fuse into contractions, for the standalone
# kernels and the fused ops' epilogue (cpu/fused.py) alike. Each writes into `out`, which may be x itself:
# on big activations a fresh temporary costs more than the arithmetic. No masked ufunc loops (where=),
# which run several times slower than plain ones.

# np.clip's loop runs several times faster than np.maximum's on big arrays, but its Python wrapper costs
# ~2 us a call, more than the whole op on a small tensor: below this size the plain ufuncs run.
CLIP_MIN_SIZE = 4096


def _clip(x, low, high, out):
    """np.clip(x, low, high) into out, keeping NaN; `high` None for no upper bound."""
    if x.size >= CLIP_MIN_SIZE:
        upper = high if high is not None else (np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max)
        return np.clip(x, low, upper, out=out)
    np.maximum(x, low, out=out)
    return out if high is None else np.minimum(out, high, out=out)


def relu_into(x, out):
    """Integer tensors too: TensorFlow's Relu takes them."""
    return _clip(x, 0, None, out)


def relu6_into(x, out):
    return _clip(x, 0, 6, out)


def elu_into(x, out):
    """max(x, 0) + expm1(min(0, x)): one of the terms is 0, so the sum is exact; expm1 keeps the
    digits of tiny x, which TensorFlow's exp(x) - 1 loses. (numpy's minimum returns its second
    argument on ties: min(0, -0) is -0, so that -0 maps to -0 as in TensorFlow.)"""
    negative_part = np.minimum(0, x, out=np.empty_like(x))
    np.expm1(negative_part, out=negative_part)
    relu_into(x, out)
    return np.add(out, negative_part, out=out)


def sigmoid_into(x, out):
    """exp(min(x, 0)) / (1 + exp(-|x|)): nothing overflows, and tiny results down to the subnormals
    keep their relative accuracy (1 / (1 + exp(-x)) is 0 below x = -88.7)."""
    denominator = np.abs(x, out=np.empty_like(x))
    np.negative(denominator, out=denominator)
    np.exp(denominator, out=denominator)
    np.add(denominator, 1, out=denominator)
    np.minimum(x, 0, out=out)
    np.exp(out, out=out)
    return np.divide(out, denominator, out=out)


def scale_negatives_into(x, alpha, out):
    """x where x >= 0, alpha * x below (LeakyRelu, PReLU; alpha broadcasts against x into `out`). As
    max(x, 0) + alpha * min(0, x) (as in elu_into), exact since one term is 0, unless alpha holds an
    infinity or NaN, whose product with 0 would spoil x >= 0: those take numpy's masked multiply."""
    alpha = np.asarray(alpha).astype(out.dtype, copy=False)
    if not np.isfinite(alpha).all():
        np.copyto(out, x)
        return np.multiply(out, alpha, out=out, where=x < 0)
    positive_part = relu_into(x, np.empty_like(x))
    np.minimum(0, x, out=out)
    np.multiply(out, alpha, out=out)
    return np.add(out, positive_part, out=out)


# Lower-case fused_ops name -> activation(x, out=...); LeakyRelu and PReLU also take alpha
# (scale_negatives_into). Tanh is numpy's, as the standalone kernel's (_UFUNCS).
ACTIVATION_FUNCTIONS = {"relu": relu_into, "relu6": relu6_into, "elu": elu_into, "sigmoid": sigmoid_into,
                       "tanh": np.tanh}

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@KERNELS.define("Relu")
def relu(features):
    return relu_into(features, np.empty_like(features))


@KERNELS.define("Relu6")
def relu6(features):
    return relu6_into(features, np.empty_like(features))


@KERNELS.define("Elu")
def elu(features):
    return elu_into(features, np.empty_like(features))


@KERNELS.define("Selu")
def selu(features):
    return np.where(features > 0, _SELU_SCALE * features, (_SELU_SCALE * _SELU_ALPHA) * np.expm1(features))


@KERNELS.define("LeakyRelu")
def leaky_relu(features, *, alpha: float = 0.2):
    return scale_negatives_into(features, alpha, np.empty_like(features))


@KERNELS.define("Prelu")
def prelu(x, alpha):
    """TF.js's fused PReLU: alpha (broadcast against x) scales the negative part."""
    out = np.empty(np.broadcast_shapes(x.shape, alpha.shape), np.result_type(x, alpha))
    return scale_negatives_into(x, alpha, out)


@KERNELS.define("Softplus")
def softplus(features):
    """log(1 + e^x) without overflow: logaddexp is exact for large |x|, like TF's thresholded form."""
    return np.logaddexp(features.dtype.type(0), features)


@KERNELS.define("Softsign")
def softsign(features):
    return features / (1 + np.abs(features))


@KERNELS.define("Step")
def step(x, *, alpha: float = 0.0):
    """TF.js's step (no TensorFlow op): 1 where x > 0, alpha (cast to x's dtype) elsewhere, NaN kept."""
    one, low = np.ones((), x.dtype), np.asarray(alpha, np.float64).astype(x.dtype)
    return np.where(x > 0, one, np.where(x <= 0, low, x))


# --- erf ----------------------------------------------------------------------------------------------------
# erf(x) = x * g(|x|) with g(x) = erf(x) / x kept on [0, 4] as 16 degree-9 polynomials, interpolated at
# Chebyshev points of math.erf when the module loads: ~1e-15 relative accuracy in float64 (tiny x included),
# in a few numpy passes instead of a Python call per element. Beyond 4, erf is +/-1 once rounded to float32.

_ERF_LIMIT, _ERF_PIECES, _ERF_DEGREE = 4.0, 16, 9
_ERF_HALF_WIDTH = _ERF_LIMIT / _ERF_PIECES / 2
_ERF_CENTERS = (2 * np.arange(_ERF_PIECES) + 1) * _ERF_HALF_WIDTH


def _erf_over_x_coefficients() -> np.ndarray:
    """Power-basis coefficients of g, lowest first (one column per piece), in the piece's local s in [-1, 1].
    Chebyshev points lie inside the piece, so g is never sampled at 0."""
    cheb = np.polynomial.chebyshev

    def g_on_piece(center):
        return lambda s: np.array([math.erf(v) / v for v in center + _ERF_HALF_WIDTH * s])
    return np.array([cheb.cheb2poly(cheb.chebinterpolate(g_on_piece(c), _ERF_DEGREE)) for c in _ERF_CENTERS]).T


_ERF_COEFFICIENTS = _erf_over_x_coefficients()


@KERNELS.define("Erf")
def erf(x):
    wide = x.astype(np.float64)
    magnitude = np.fmin(np.abs(wide), _ERF_LIMIT)  # NaN -> the limit; the clipped x below keeps the NaN
    piece = np.minimum((magnitude / (2 * _ERF_HALF_WIDTH)).astype(np.intp), _ERF_PIECES - 1)
    s = (magnitude - _ERF_CENTERS[piece]) / _ERF_HALF_WIDTH
    g = np.zeros_like(s)
    for coefficients in _ERF_COEFFICIENTS[::-1]:
        g = g * s + coefficients[piece]
    return (np.clip(wide, -_ERF_LIMIT, _ERF_LIMIT) * g).astype(x.dtype)


# --- fake quantization ----------------------------------------------------------------------------------------

def _fake_quant(inputs, minimum, maximum, num_bits: int, narrow_range: bool, divide_by_scale: bool):
    """TF's FakeQuant functors, step by step in float32 so that values on a rounding edge land where TF's do
    (FakeQuantWithMinMaxVars divides by the scale where the others multiply by its inverse).

    [min, max] is first nudged so that real 0 falls exactly on a quantization level; `minimum`/`maximum`
    may be per-channel vectors over the last axis. A channel whose min and max are both 0 outputs 0.
    """
    if not 2 <= num_bits <= 16:
        raise ValueError(f"num_bits must be between 2 and 16, inclusive, got {num_bits}")
    minimum, maximum = np.asarray(minimum, np.float32), np.asarray(maximum, np.float32)
    quant_min = np.float32(1 if narrow_range else 0)
    quant_max = np.float32((1 << num_bits) - 1)
    scale = (maximum - minimum) / (quant_max - quant_min)
    inv_scale = (quant_max - quant_min) / (maximum - minimum)
    zero_point_from_min = quant_min - minimum / scale
    # std::round: half away from zero (the value is >= 0 once clamped).
    zero_point = np.floor(np.clip(zero_point_from_min, quant_min, quant_max).astype(np.float64) + 0.5)
    zero_point = zero_point.astype(np.float32)
    nudged_min = (quant_min - zero_point) * scale
    nudged_max = (quant_max - zero_point) * scale
    quant_zero = np.floor(-nudged_min * inv_scale + np.float32(0.5))
    clamped = np.maximum(np.minimum(inputs, nudged_max), nudged_min)
    shifted = clamped - nudged_min
    levels = np.floor((shifted / scale if divide_by_scale else shifted * inv_scale) - quant_zero + np.float32(0.5))
    out = levels * scale
    return np.where((minimum == 0) & (maximum == 0), np.float32(0), out).astype(np.float32)


@KERNELS.define("FakeQuantWithMinMaxArgs")
def fake_quant_with_min_max_args(inputs, *, min: float = -6.0, max: float = 6.0, num_bits: int = 8,
                                 narrow_range: bool = False):
    return _fake_quant(inputs, min, max, num_bits, narrow_range, divide_by_scale=False)


@KERNELS.define("FakeQuantWithMinMaxVars")
def fake_quant_with_min_max_vars(inputs, minimum, maximum, *, num_bits: int = 8, narrow_range: bool = False):
    return _fake_quant(inputs, minimum, maximum, num_bits, narrow_range, divide_by_scale=True)


@KERNELS.define("FakeQuantWithMinMaxVarsPerChannel")
def fake_quant_with_min_max_vars_per_channel(inputs, minimum, maximum, *, num_bits: int = 8,
                                             narrow_range: bool = False):
    """min and max are vectors over the last axis."""
    return _fake_quant(inputs, minimum, maximum, num_bits, narrow_range, divide_by_scale=False)
