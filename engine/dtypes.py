"""Data types. Tensors are stored in TF.js's five dtypes; graph attrs keep TensorFlow's finer type names."""
from __future__ import annotations

import numpy as np

from engine.errors import ModelFormatError

STORAGE_DTYPES = ("float32", "int32", "bool", "string", "complex64")

# TensorFlow's DataType enum names -> the numpy-style names tfgl uses in attrs.
TF_TYPE_NAMES = {
    "DT_FLOAT": "float32", "DT_HALF": "float16", "DT_DOUBLE": "float64", "DT_BFLOAT16": "bfloat16",
    "DT_INT8": "int8", "DT_INT16": "int16", "DT_INT32": "int32", "DT_INT64": "int64",
    "DT_UINT8": "uint8", "DT_UINT16": "uint16", "DT_UINT32": "uint32", "DT_UINT64": "uint64",
    "DT_BOOL": "bool", "DT_STRING": "string", "DT_COMPLEX64": "complex64", "DT_COMPLEX128": "complex128",
    "DT_RESOURCE": "resource", "DT_VARIANT": "variant",
}
# The same enum as the integers a GraphDef's JSON may carry instead of names.
TF_TYPE_NUMBERS = {1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32", 4: "DT_UINT8", 5: "DT_INT16", 6: "DT_INT8",
                   7: "DT_STRING", 8: "DT_COMPLEX64", 9: "DT_INT64", 10: "DT_BOOL", 14: "DT_BFLOAT16",
                   17: "DT_UINT16", 18: "DT_COMPLEX128", 19: "DT_HALF", 20: "DT_RESOURCE", 21: "DT_VARIANT",
                   22: "DT_UINT32", 23: "DT_UINT64"}
TF_ENUM_OF = {v: k for k, v in TF_TYPE_NAMES.items()}

# Where each type lives in storage, as TF.js does (int64 -> int32, float64 -> float32, ...).
_STORAGE_OF = {
    "float32": "float32", "float16": "float32", "float64": "float32", "bfloat16": "float32",
    "int8": "int32", "int16": "int32", "int32": "int32", "int64": "int32",
    "uint8": "int32", "uint16": "int32", "uint32": "int32", "uint64": "int32",
    "bool": "bool", "string": "string", "complex64": "complex64", "complex128": "complex64",
}

NUMPY_OF = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32), "bool": np.dtype(np.bool_),
            "string": np.dtype(object), "complex64": np.dtype(np.complex64)}

# numpy types of the fine-grained names (bfloat16 is computed in float32).
_FINE_NUMPY = {"float16": np.float16, "float64": np.float64, "bfloat16": np.float32, "int8": np.int8,
               "int16": np.int16, "int64": np.int64, "uint8": np.uint8, "uint16": np.uint16,
               "uint32": np.uint32, "uint64": np.uint64, "complex128": np.complex128}


def tf_type_name(value: str | int) -> str:
    """'DT_FLOAT' (or its enum number) -> 'float32'."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        value = TF_TYPE_NUMBERS.get(int(value), str(value))
    try:
        return TF_TYPE_NAMES[value]
    except KeyError:
        raise ModelFormatError(f"unknown TensorFlow dtype {value!r}") from None


def storage_dtype(name: str) -> str:
    """The storage dtype of a fine-grained type name ('int64' -> 'int32')."""
    if name in _STORAGE_OF:
        return _STORAGE_OF[name]
    raise ModelFormatError(f"unsupported dtype {name!r}")


def numpy_dtype(name: str) -> np.dtype:
    """numpy dtype for a type name, fine-grained ones included."""
    if name in NUMPY_OF:
        return NUMPY_OF[name]
    if name in _FINE_NUMPY:
        return np.dtype(_FINE_NUMPY[name])
    raise ModelFormatError(f"unsupported dtype {name!r}")


def dtype_of_array(array: np.ndarray) -> str:
    """Storage dtype that holds a numpy array's values."""
    kind = array.dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int32"
    if kind == "f":
        return "float32"
    if kind == "c":
        return "complex64"
    if kind in "OSU":
        return "string"
    raise TypeError(f"no tfgl dtype holds numpy dtype {array.dtype}")


def to_storage(array: np.ndarray | object, dtype: str | None = None) -> np.ndarray:
    """Converts values to the numpy array tfgl stores: one of the five storage dtypes."""
    array = np.asarray(array) if not isinstance(array, np.ndarray) else array
    target = dtype or dtype_of_array(array)
    if target == "string":
        return _as_bytes_array(array)
    np_target = NUMPY_OF[target]
    if array.dtype == np_target:
        return array
    if target == "int32" and array.dtype.kind == "f":
        return array.astype(np.int64).astype(np.int32) if array.size else array.astype(np.int32)
    return array.astype(np_target)


def _as_bytes_array(array: np.ndarray) -> np.ndarray:
    if array.dtype == object and all(isinstance(v, bytes) for v in array.flat):
        return array
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return out
