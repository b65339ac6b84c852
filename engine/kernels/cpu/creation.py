"""Creation ops (op_list/creation.json): constant fills, ranges, one-hot, and random sampling.

Random ops can't reproduce TensorFlow's Philox streams; they sample the same distributions with
numpy. A nonzero `seed` or `seed2` makes them deterministic: the same values on every run.
"""
from __future__ import annotations

import numpy as np

from engine import dtypes
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.creation import multinomial_count, multinomial_uniforms, one_hot_depth, random_generator
from engine.kernels.resolve.values import checked_size, parse_shape, scalar

KERNELS = KernelTable()


# -- constant fills ---------------------------------------------------------------------------------

@KERNELS.define("Fill")
def fill(dims, value):
    return np.full(parse_shape(dims), np.asarray(value).reshape(()), dtype=value.dtype)


def _filled(shape: tuple[int, ...], dtype: np.dtype, one: bool) -> np.ndarray:
    if dtype == np.dtype(object):
        if one:
            raise ValueError("ones are not defined for strings")
        return np.full(shape, b"", dtype=object)
    return np.ones(shape, dtype) if one else np.zeros(shape, dtype)


@KERNELS.define("Ones")
def ones(shape, *, T: str = "float32"):
    """Not a TensorFlow op: TF.js's graph op taking the shape as input and the dtype as attr T."""
    return _filled(parse_shape(shape), dtypes.numpy_dtype(T), one=True)


@KERNELS.define("Zeros")
def zeros(shape, *, T: str = "float32"):
    """Not a TensorFlow op: TF.js's graph op taking the shape as input and the dtype as attr T."""
    return _filled(parse_shape(shape), dtypes.numpy_dtype(T), one=False)


@KERNELS.define("OnesLike")
def ones_like(x):
    return _filled(x.shape, x.dtype, one=True)


@KERNELS.define("ZerosLike")
def zeros_like(x):
    return _filled(x.shape, x.dtype, one=False)


# -- sequences --------------------------------------------------------------------------------------

@KERNELS.define("Range")
def range_(start, limit, delta):
    """Computed in the inputs' storage dtype, as TensorFlow computes in Tidx: float32 sizes and values
    round as TensorFlow's float32 Range does (float64 ranges get float32 precision, as in TF.js)."""
    dtype = start.dtype
    first, stop, step = (dtype.type(scalar(v)) for v in (start, limit, delta))
    if step == 0:
        raise ValueError("Range: requires delta != 0")
    if (step > 0 and first > stop) or (step < 0 and first < stop):
        raise ValueError(f"Range: requires start {'<=' if step > 0 else '>='} limit when delta "
                         f"{'>' if step > 0 else '<'} 0: {first}/{stop}")
    if dtype.kind in "iu":
        size = (abs(int(stop) - int(first)) + abs(int(step)) - 1) // abs(int(step))
    else:
        size = int(np.ceil(np.abs((stop - first) / step)))
    checked_size("Range's output", (size,))
    return first + np.arange(size, dtype=dtype) * step


@KERNELS.define("LinSpace")
def lin_space(start, stop, num):
    """TensorFlow's formula: start + i * step, with the last value exactly `stop`."""
    first, last, count = start.dtype.type(scalar(start)), start.dtype.type(scalar(stop)), int(scalar(num))
    if count <= 0:
        raise ValueError(f"LinSpace: requires num > 0, got {count}")
    checked_size("LinSpace's output", (count,))
    if count == 1:
        return np.array([first])
    step = (last - first) / start.dtype.type(count - 1)
    out = first + step * np.arange(count, dtype=start.dtype)
    out[-1] = last
    return out


@KERNELS.define("OneHot")
def one_hot(indices, depth, on_value, off_value, *, axis: int = -1):
    """Indices outside [0, depth) (negative ones too) give a row of off_value."""
    depth = one_hot_depth(depth, axis, indices.ndim)
    checked_size("OneHot's output", indices.shape + (depth,))
    hot = indices[..., None] == np.arange(depth)
    out = np.where(hot, np.asarray(on_value).reshape(()), np.asarray(off_value).reshape(()))
    return np.moveaxis(out, -1, axis)


# -- random -----------------------------------------------------------------------------------------

@KERNELS.define("RandomStandardNormal")
def random_standard_normal(shape, *, dtype: str = "float32", seed: int = 0, seed2: int = 0):
    values = random_generator(seed, seed2).standard_normal(parse_shape(shape), dtype=np.float32)
    return values.astype(dtypes.numpy_dtype(dtype))


@KERNELS.define("RandomUniform")
def random_uniform(shape, *, dtype: str = "float32", seed: int = 0, seed2: int = 0):
    """Uniform in [0, 1)."""
    values = random_generator(seed, seed2).random(parse_shape(shape), dtype=np.float32)
    return values.astype(dtypes.numpy_dtype(dtype))


@KERNELS.define("RandomUniformInt")
def random_uniform_int(shape, minval, maxval, *, seed: int = 0, seed2: int = 0):
    """Integers uniform in [minval, maxval)."""
    low, high = int(scalar(minval)), int(scalar(maxval))
    if low >= high:
        raise ValueError(f"RandomUniformInt: need minval < maxval, got {low} >= {high}")
    return random_generator(seed, seed2).integers(low, high, parse_shape(shape), dtype=np.int64).astype(minval.dtype)


@KERNELS.define("TruncatedNormal")
def truncated_normal(shape, *, dtype: str = "float32", seed: int = 0, seed2: int = 0):
    """Standard normal values, with those beyond 2 standard deviations redrawn, as TensorFlow does."""
    rng = random_generator(seed, seed2)
    values = rng.standard_normal(parse_shape(shape), dtype=np.float32)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
        outside = np.abs(values) > 2
    return values.astype(dtypes.numpy_dtype(dtype))


@KERNELS.define("Multinomial")
def multinomial(logits, num_samples, *, seed: int = 0, seed2: int = 0, output_dtype: str = "int64"):
    """num_samples class indices per row of [batch, classes] logits, drawn by inverting each row's
    cumulative softmax; classes with -inf logits are never drawn."""
    count = multinomial_count(logits.shape, num_samples)
    rows = logits.astype(np.float64)
    weights = np.exp(rows - rows.max(axis=1, keepdims=True))
    cumulative = np.cumsum(weights, axis=1)
    draws = multinomial_uniforms(seed, seed2, rows.shape[0], count) * cumulative[:, -1:]
    picks = np.array([np.searchsorted(cdf, row_draws, side="right") for cdf, row_draws in zip(cumulative, draws)],
                     dtype=np.int64).reshape(rows.shape[0], count)
    return np.minimum(picks, rows.shape[1] - 1).astype(dtypes.numpy_dtype(output_dtype))
