"""Tensor: an immutable n-d value whose data lives on the CPU (numpy), on the GPU (a texture), or both."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from engine import dtypes


# The functions behind Tensor's chainable methods, by method name. engine/tfjs.py (TF.js-style ops, a
# layer above tensors) fills this table when it loads, as TF.js's chained ops attach themselves to
# its Tensor class; `engine.tensor(...)` and `engine.Tensor` load it.
CHAINED_OPS: dict[str, Callable[..., Tensor]] = {}


class DeviceData(Protocol):
    """What a GPU backend stores for a tensor; shared by tensors that alias it (reshape)."""

    def download(self) -> np.ndarray: ...
    def retain(self) -> None: ...
    def release(self) -> None: ...


class Tensor:
    """A tensor of one of the storage dtypes (float32, int32, bool, string, complex64).

    Values are read lazily: a tensor produced on the GPU is downloaded on the first `numpy()`.
    `constant`: a model's Const, whose values hold for the model's life (and its aliases).
    """

    __slots__ = ("shape", "dtype", "_values", "_device", "constant", "__weakref__")

    def __init__(self, values: np.ndarray | None, dtype: str, shape: Sequence[int] | None = None,
                 device: DeviceData | None = None):
        if values is None and device is None:
            raise ValueError("a tensor needs values or device data")
        self.dtype = dtype
        self.shape = values.shape if shape is None and isinstance(values, np.ndarray) else \
            tuple(int(d) for d in (shape if shape is not None else values.shape))
        self._values = values
        self._device = device
        self.constant = False

    # -- data ---------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    ndim = rank

    @property
    def on_device(self) -> bool:
        return self._device is not None

    @property
    def device_data(self) -> DeviceData | None:
        return self._device

    def attach_device(self, data: DeviceData) -> None:
        """Records that the values were uploaded (the backend owns `data`)."""
        self._device = data

    def numpy(self) -> np.ndarray:
        """The values as a numpy array (downloaded from the GPU once if needed)."""
        if self._values is None:
            flat = self._device.download()
            self._values = dtypes.to_storage(flat, self.dtype).reshape(self.shape)
        return self._values

    def has_values(self) -> bool:
        return self._values is not None

    def dispose(self) -> None:
        """Releases device storage now rather than at garbage collection."""
        device, self._device = self._device, None
        if device is not None:
            device.release()

    def __del__(self) -> None:
        device = getattr(self, "_device", None)
        if device is not None:
            device.release()

    def __array__(self, dtype=None, copy=None):
        values = self.numpy()
        return values.astype(dtype) if dtype is not None else values

    def __repr__(self) -> str:
        where = "gpu" if self._values is None else "cpu"
        return f"Tensor(shape={list(self.shape)}, dtype={self.dtype}, on={where})"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar tensor")
        return self.shape[0]

    # -- chainable ops, as TF.js's tensor methods (engine.tfjs) --------------------------------
    def _op(self, name: str, *args: Any, **kwargs: Any) -> Tensor:
        return CHAINED_OPS[name](self, *args, **kwargs)

    def add(self, other): return self._op("add", other)
    def sub(self, other): return self._op("sub", other)
    def mul(self, other): return self._op("mul", other)
    def div(self, other): return self._op("div", other)
    def pow(self, other): return self._op("pow", other)
    def maximum(self, other): return self._op("maximum", other)
    def minimum(self, other): return self._op("minimum", other)
    def matmul(self, other, transpose_a=False, transpose_b=False):
        return self._op("matmul", other, transpose_a=transpose_a, transpose_b=transpose_b)
    def equal(self, other): return self._op("equal", other)
    def greater(self, other): return self._op("greater", other)
    def less(self, other): return self._op("less", other)
    def neg(self): return self._op("neg")
    def abs(self): return self._op("abs")
    def exp(self): return self._op("exp")
    def log(self): return self._op("log")
    def sqrt(self): return self._op("sqrt")
    def square(self): return self._op("square")
    def relu(self): return self._op("relu")
    def sigmoid(self): return self._op("sigmoid")
    def tanh(self): return self._op("tanh")
    def softmax(self): return self._op("softmax")
    def reshape(self, shape): return self._op("reshape", shape)
    def transpose(self, perm=None): return self._op("transpose", perm)
    def squeeze(self, axis=None): return self._op("squeeze", axis)
    def expand_dims(self, axis): return self._op("expand_dims", axis)
    def cast(self, dtype): return self._op("cast", dtype)
    def sum(self, axis=None, keepdims=False): return self._op("sum", axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return self._op("mean", axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return self._op("max", axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return self._op("min", axis, keepdims=keepdims)
    def argmax(self, axis=0): return self._op("argmax", axis)

    __add__ = add
    __sub__ = sub
    __mul__ = mul
    __truediv__ = div
    __matmul__ = matmul
    __neg__ = neg
    __pow__ = pow

    def __radd__(self, other): return tensor(other, self.dtype).add(self)
    def __rsub__(self, other): return tensor(other, self.dtype).sub(self)
    def __rmul__(self, other): return tensor(other, self.dtype).mul(self)
    def __rtruediv__(self, other): return tensor(other, self.dtype).div(self)


def caller_values(tensor: Tensor) -> np.ndarray:
    """A model output's values for the caller to own: a copy where they are read-only (a constant of
    the model's, or a view of one), so that writing into a result never changes the model."""
    values = tensor.numpy()
    return values if values.flags.writeable else values.copy()


def alias(source: Tensor, shape: Sequence[int] | None = None) -> Tensor:
    """A new tensor sharing `source`'s data (optionally under another shape of the same size)."""
    shape = source.shape if shape is None else tuple(shape)
    values = source._values if source._values is None or shape == source.shape else source._values.reshape(shape)
    if source._device is not None:
        source._device.retain()
    view = Tensor(values, source.dtype, shape, device=source._device)
    view.constant = source.constant
    return view


def tensor(values: Any, dtype: str | None = None) -> Tensor:
    """Makes a CPU tensor from anything numpy accepts (or returns a Tensor as is)."""
    if isinstance(values, Tensor):
        return values if dtype is None or dtype == values.dtype else values.cast(dtype)
    if dtype is not None and dtype not in dtypes.STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {dtypes.STORAGE_DTYPES}, not {dtype!r}")
    array = np.asarray(values)
    if dtype is None and array.dtype.kind == "f":
        dtype = "float32"
    stored = dtypes.to_storage(array, dtype)
    return Tensor(stored, dtype or dtypes.dtype_of_array(stored))
