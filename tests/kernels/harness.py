"""Conformance harness: run one op on a tfgl backend and through tf.raw_ops, compare the outputs.

    check(backend, "Conv2D", [x, w], {"strides": [1, 1, 1, 1], "padding": "SAME"})

Inputs are numpy arrays in the dtype TensorFlow wants (int64 where the op needs int64; tfgl
stores it as int32). Attrs use tfgl's attr values: type attrs are names ('float32').
`reference=` replaces tf.raw_ops for ops TensorFlow lacks (TF.js's fused ops).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import engine
from engine import dtypes
from engine.errors import KernelError
from engine.kernels.registry import get_kernel
from engine.tensors import Tensor
from tests.conftest import check_gl_error

_tf = None


def tf():
    global _tf
    if _tf is None:
        import tensorflow
        _tf = tensorflow
    return _tf


def rand(rng: np.random.Generator, shape: Sequence[int], dtype: str = "float32", low: float = -3.0,
         high: float = 3.0, specials: bool = False) -> np.ndarray:
    """Random values; `specials` puts NaN, +Inf and -Inf into float arrays."""
    shape = tuple(shape)
    if dtype in ("float32", "float64", "float16"):
        out = rng.uniform(low, high, shape).astype(dtype)
        if specials and out.size >= 3:
            flat = out.reshape(-1)
            picks = rng.choice(out.size, 3, replace=False)
            flat[picks] = [np.nan, np.inf, -np.inf]
        return out
    if dtype in ("int32", "int64", "uint8", "int8", "int16", "uint16"):
        return rng.integers(int(low), int(high) + 1, shape).astype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype == "complex64":
        return (rng.uniform(low, high, shape) + 1j * rng.uniform(low, high, shape)).astype(np.complex64)
    if dtype == "string":
        words = [b"", b"a", b"tf", b"gl", b"hello", b"\xc3\xa9"]
        return np.array([words[i] for i in rng.integers(0, len(words), int(np.prod(shape)))],
                        dtype=object).reshape(shape)
    raise ValueError(dtype)


def i32(x) -> np.ndarray:
    return np.asarray(x, np.int32)


def explicit_paddings(*spatial: tuple[int, int]) -> list[int]:
    """The explicit_paddings attr for NHWC from (before, after) per spatial dim."""
    return [0, 0, *[p for pair in spatial for p in pair], 0, 0]


def conv_attrs(strides: Sequence[int], dilations: Sequence[int], padding: str,
               explicit: Sequence[tuple[int, int]] | None) -> dict:
    """NHWC convolution attrs from spatial strides and dilations; `explicit`: (before, after) per
    spatial dim, for padding 'EXPLICIT'."""
    attrs = {"strides": [1, *strides, 1], "dilations": [1, *dilations, 1], "padding": padding}
    if explicit:
        attrs["explicit_paddings"] = explicit_paddings(*explicit)
    return attrs


def to_tensor(array: Any) -> Tensor:
    array = np.asarray(array)
    stored = dtypes.to_storage(array)
    return Tensor(stored, dtypes.dtype_of_array(stored))


def gpu_ints(impl, values) -> Tensor:
    """An int32 tensor made on the GPU of the WebGL backend `impl` (a Cast), with no values on the CPU:
    kernels must use it without reading it back."""
    source = to_tensor(np.asarray(values, np.float32))
    impl.texture_of(source)
    out = impl.run("Cast", [source], {"DstT": "int32"})[0]
    assert not out.has_values()
    return out


def run_engine(backend: str, op: str, inputs: Sequence[Any], attrs: dict | None = None) -> list[np.ndarray]:
    """Runs one op on a tfgl backend. On webgl the inputs are uploaded first, so the GL kernel runs
    (small CPU-resident inputs would be forwarded to the CPU kernel), and GL errors are checked
    before and after, naming the op (the gl_error_check fixture only names the test)."""
    tensors = [to_tensor(x) for x in inputs]
    impl = engine.get_backend(backend)
    if backend == "webgl":
        check_gl_error(f"the steps before {op}")
        for tensor in tensors:
            if tensor.dtype in ("float32", "int32", "bool") and tensor.size:
                impl.texture_of(tensor)
            elif tensor.dtype == "complex64" and tensor.size:
                impl.complex_parts(tensor)
    outputs = [o.numpy() if hasattr(o, "numpy") else o for o in impl.run(op, tensors, attrs or {})]
    if backend == "webgl":
        check_gl_error(op)
    return outputs


def assert_rejects(backend: str, op: str, inputs: Sequence[Any], attrs: dict | None = None,
                   match: str | None = None) -> None:
    """The tfgl backend refuses the call with a KernelError (whose message matches `match`)."""
    with pytest.raises(KernelError, match=match):
        run_engine(backend, op, inputs, attrs)


def run_tf(op: str, inputs: Sequence[Any], attrs: dict | None = None) -> list[np.ndarray]:
    """Runs tf.raw_ops.<op>, mapping positional inputs onto the OpDef's (list) args."""
    t = tf()
    result = call_raw_op(op, [t.constant(v) for v in inputs], attrs)
    return [np.asarray(dtypes.to_storage(np.asarray(r))) for r in _flatten(result)]


def call_raw_op(op: str, inputs: Sequence[Any], attrs: dict | None = None) -> Any:
    """tf.raw_ops.<op> on TensorFlow tensors (positional, mapped onto the OpDef's (list) args) and
    tfgl's attr values; returns what the raw op returns."""
    from tensorflow.python.framework import op_def_registry
    t = tf()
    attrs = dict(attrs or {})
    op_def = op_def_registry.get(op)
    if op_def is None:
        raise ValueError(f"TensorFlow has no op {op}; give the check a reference function")
    raw = getattr(t.raw_ops, op)
    parameters = list(inspect.signature(raw).parameters)
    kwargs, rest = {}, list(inputs)
    args = list(op_def.input_arg)
    for i, arg in enumerate(args):
        python_name = parameters[i]  # raw ops list inputs first, sometimes renamed (Select: t -> x)
        if arg.number_attr or arg.type_list_attr:
            count = attrs.get(arg.number_attr) if arg.number_attr else None
            if count is None:
                count = len(rest) - (len(args) - i - 1)
            kwargs[python_name], rest = rest[:count], rest[count:]
        else:
            kwargs[python_name] = rest.pop(0)
    attr_types = {a.name: a.type for a in op_def.attr}
    accepted = set(parameters)
    for name, value in attrs.items():
        if name not in accepted:
            continue
        if attr_types.get(name) == "type":
            value = t.as_dtype(value)
        elif attr_types.get(name) == "list(type)":
            value = [t.as_dtype(v) for v in value]
        kwargs[name] = value
    return raw(**kwargs)


def _fallbacks(backend: str, op: str) -> int:
    if backend != "webgl":
        return 0
    return engine.get_backend("webgl").stats.cpu_fallbacks.get(op, 0)


def _flatten(result: Any) -> list:
    if isinstance(result, (list, tuple)):
        out = []
        for item in result:
            out.extend(_flatten(item))
        return out
    if hasattr(result, "numpy"):
        return [result.numpy()]
    return [result]


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-4, atol: float = 1e-6,
                 what: str = "") -> None:
    """Shapes equal; NaN where the reference has NaN, same infinities; finite values within
    atol + rtol * max|reference|; integers, bools and strings exactly."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != reference {expected.shape}"
    if expected.dtype.kind in "fc":
        assert actual.dtype.kind in "fc", f"{what}: dtype {actual.dtype}, reference {expected.dtype}"
        for part in ((actual.real, expected.real), (actual.imag, expected.imag)) if expected.dtype.kind == "c" \
                else ((actual, expected),):
            a, e = (np.asarray(p, np.float64) for p in part)
            nan = np.isnan(e)
            assert np.array_equal(np.isnan(a), nan), f"{what}: NaN positions differ\n{a}\nvs\n{e}"
            inf = np.isinf(e)
            assert np.array_equal(a[inf], e[inf]), f"{what}: infinities differ"
            finite = ~(nan | inf)
            if finite.any():
                scale = np.abs(e[finite]).max()
                err = np.abs(a[finite] - e[finite]).max()
                assert err <= atol + rtol * scale, f"{what}: max error {err:.3g} > {atol} + {rtol} * {scale:.3g}"
    else:
        assert actual.dtype == expected.dtype or (actual.dtype.kind in "iu" and expected.dtype.kind in "iu"), \
            f"{what}: dtype {actual.dtype} != reference {expected.dtype}"
        assert np.array_equal(actual, expected), f"{what}: values differ\n{actual}\nvs\n{expected}"


def run_on_gpu(backend, op, inputs, attrs=None):
    """run_engine, asserting that on webgl the GL kernel ran (no CPU fallback)."""
    stats = engine.get_backend("webgl").stats if backend == "webgl" else None
    before = stats.cpu_fallbacks.get(op, 0) if stats else 0
    outputs = run_engine(backend, op, inputs, attrs)
    if stats:
        assert stats.cpu_fallbacks.get(op, 0) == before, f"{op} fell back to the CPU on webgl"
    return outputs


def run_drawn(op: str, inputs: Sequence[Any], attrs: dict | None = None) -> tuple[list[np.ndarray], int]:
    """run_on_gpu on webgl, with the number of draws the op made: a GL kernel draws its programs, a CPU
    kernel (forwarded to) draws none. Neither the op nor an op its GL kernel runs may fall back."""
    stats = engine.get_backend("webgl").stats
    draws, fallbacks = stats.draws, dict(stats.cpu_fallbacks)
    outputs = run_on_gpu("webgl", op, inputs, attrs)
    assert stats.cpu_fallbacks == fallbacks, f"{op} ran ops on the CPU: {stats.cpu_fallbacks} (was {fallbacks})"
    return outputs, stats.draws - draws


def assert_elementwise(got, want, rtol, atol, what=""):
    """Element by element (assert_close scales its tolerance by the largest value, which would hide
    errors on small results): NaN and infinities where `want` has them, the rest within
    atol + rtol * |want|."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: NaN positions")
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg=f"{what}: infinities")
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=atol, err_msg=what)


# -- fused activations -------------------------------------------------------------------------------
FUSED_ACTIVATIONS = ["Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Prelu"]
LEAKYRELU_ALPHA = 0.3
# Where activation formulas part ways: tiny values (exp(x) - 1 and drivers' tanh lose every digit
# there), large ones (drivers' exp is off by ~50 ulp there), values around and beyond exp's float32
# range, NaN and infinities.
ACTIVATION_EDGES = np.array([
    0.0, 1e-30, -1e-30, 5.4e-8, -5.4e-8, 2.08e-7, -2.08e-7, 0.5, -0.5, 3.0, -3.0, 7.0, 30.0, -30.0, 85.0, -85.0,
    88.0, -88.0, 100.0, -100.0, 1e30, -1e30, np.nan, np.inf, -np.inf], np.float32)
PRELU_ALPHA = np.array([0.3], np.float32)


def tf_activation(activation: str, x: np.ndarray) -> np.ndarray:
    """TensorFlow's activation of x (PReLU as Keras' layer computes it, with PRELU_ALPHA)."""
    t = tf()
    x = t.constant(x)
    return {"Relu": t.nn.relu, "Relu6": t.nn.relu6, "Elu": t.nn.elu, "Sigmoid": t.math.sigmoid, "Tanh": t.math.tanh,
            "LeakyRelu": lambda v: t.nn.leaky_relu(v, alpha=LEAKYRELU_ALPHA),
            "Prelu": lambda v: t.nn.relu(v) - PRELU_ALPHA * t.nn.relu(-v)}[activation](x).numpy()


def check_fused_activation(backend: str, activation: str, fused: np.ndarray, x: np.ndarray) -> None:
    """`fused`, the output of a fused op whose contraction gave exactly `x` (in any shape), against the standalone
    op on the same backend (within 2 ulp: both should run one definition of the activation) and
    against TensorFlow (1e-6 relative; TF flushes subnormal results to 0, and its Elu computes
    exp(x) - 1, off by up to ~1e-7 absolute near 0)."""
    inputs, attrs = ([x, PRELU_ALPHA], None) if activation == "Prelu" else \
        ([x], {"alpha": LEAKYRELU_ALPHA} if activation == "LeakyRelu" else None)
    standalone = run_on_gpu(backend, activation, inputs, attrs)[0]
    what = f"fused {activation} on {backend}"
    fused = np.reshape(fused, x.shape)
    assert_elementwise(fused, standalone, rtol=2.4e-7, atol=0, what=f"{what} vs the standalone op")
    assert_elementwise(fused, tf_activation(activation, x), rtol=1e-6, atol=3e-7 if activation == "Elu" else 1.2e-38,
                       what=f"{what} vs TensorFlow")


def check(backend: str, op: str, inputs: Sequence[Any], attrs: dict | None = None, *,
          reference: Callable[..., Any] | None = None, rtol: float = 1e-4, atol: float = 1e-6,
          outputs: Sequence[int] | None = None, allow_fallback: bool = False) -> list[np.ndarray]:
    """Runs `op` on the tfgl backend and on TensorFlow; asserts the chosen outputs agree.

    On webgl, an op that has a GL kernel must run on the GPU unless `allow_fallback` (cases the
    GL kernel deliberately hands to the CPU, such as integer division)."""
    before = _fallbacks(backend, op)
    got = run_engine(backend, op, inputs, attrs)
    if backend == "webgl" and not allow_fallback and get_kernel(op, "webgl") is not None:
        assert _fallbacks(backend, op) == before, f"{op} fell back to the CPU on webgl"
    want = run_tf(op, inputs, attrs) if reference is None else \
        [np.asarray(dtypes.to_storage(np.asarray(r))) for r in _flatten(reference(*inputs))]
    assert len(got) >= len(want) or outputs is not None, f"{op}: {len(got)} outputs, reference has {len(want)}"
    for index in outputs if outputs is not None else range(len(want)):
        assert_close(got[index], want[index], rtol, atol, what=f"{op} output {index} on {backend}")
    return got
