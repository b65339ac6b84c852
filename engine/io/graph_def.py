"""Decoding a GraphDef in the proto3 JSON form model.json uses: nodes, attrs, tensors, functions."""
from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine import dtypes
from engine.errors import AttrError, ModelFormatError, ResourceLimitError
from engine.io.limits import check_tensor_size

INT64_MIN, INT64_MAX, UINT64_MAX = -2 ** 63, 2 ** 63 - 1, 2 ** 64 - 1
# What a malformed attr value makes the decoders raise; decode_node turns each into an AttrError.
_DECODE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, binascii.Error,
                  RecursionError, ModelFormatError)


@dataclass(frozen=True)
class FuncRef:
    """A function-valued attr (`cond`, `body`, `then_branch`, `f`, ...)."""

    name: str
    attrs: dict = field(default_factory=dict, compare=False)


@dataclass
class NodeDef:
    name: str
    op: str
    inputs: list[str]
    attrs: dict[str, Any]
    device: str = ""


@dataclass
class ArgDef:
    name: str
    dtype: str | None


@dataclass
class FunctionDef:
    name: str
    input_args: list[ArgDef]
    output_args: list[ArgDef]
    nodes: list[NodeDef]
    ret: dict[str, str]


def decode_nodes(raw_nodes: object, where: str = "modelTopology") -> list[NodeDef]:
    if raw_nodes is None:
        return []
    if not isinstance(raw_nodes, list):
        raise ModelFormatError(f"{where}.node must be a list")
    return [decode_node(raw, f"{where}.node[{i}]") for i, raw in enumerate(raw_nodes)]


def decode_node(raw: object, where: str) -> NodeDef:
    if not isinstance(raw, dict):
        raise ModelFormatError(f"{where} must be an object")
    name, op = raw.get("name"), raw.get("op")
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"{where} has no name")
    if not isinstance(op, str) or not op:
        raise ModelFormatError(f"node {name!r} has no op")
    inputs = raw.get("input", [])
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise ModelFormatError(f"node {name!r}: 'input' must be a list of strings")
    raw_attrs = raw.get("attr", {})
    if not isinstance(raw_attrs, dict):
        raise ModelFormatError(f"node {name!r}: 'attr' must be an object")
    device = raw.get("device", "") or ""
    if not isinstance(device, str):
        raise ModelFormatError(f"node {name!r}: 'device' must be a string")
    return NodeDef(name, op, list(inputs), decode_attrs(raw_attrs, name), device)


def decode_attrs(raw_attrs: dict, node: str) -> dict[str, Any]:
    """A node's (or function reference's) attr map; a bad value is an AttrError naming node and attr."""
    attrs = {}
    for key, value in raw_attrs.items():
        try:
            decoded = decode_attr(value)
        except ResourceLimitError as error:
            raise ResourceLimitError(f"node {node!r}, attr {key!r}: {error}") from None
        except _DECODE_ERRORS as error:
            raise AttrError(node, key, f"cannot decode {str(value)[:120]}: {error}") from None
        if decoded is not None:  # an AttrValue with nothing set is an unset attr: kernels use their default
            attrs[key] = decoded
    return attrs


def decode_functions(library: object) -> dict[str, FunctionDef]:
    if not library:
        return {}
    if not isinstance(library, dict):
        raise ModelFormatError("modelTopology.library must be an object")
    functions = library.get("function", []) or []
    if not isinstance(functions, list):
        raise ModelFormatError("modelTopology.library.function must be a list")
    out = {}
    for i, raw in enumerate(functions):
        signature = raw.get("signature", {}) if isinstance(raw, dict) else None
        if not isinstance(signature, dict) or not isinstance(signature.get("name"), str) or not signature["name"]:
            raise ModelFormatError(f"library.function[{i}] has no signature name")
        name = signature["name"]
        if name in out:
            raise ModelFormatError(f"library defines function {name!r} twice")
        ret = raw.get("ret", {}) or {}
        if not isinstance(ret, dict) or not all(isinstance(v, str) for v in ret.values()):
            raise ModelFormatError(f"function {name!r}: 'ret' must map output names to tensor names")
        out[name] = FunctionDef(
            name=name,
            input_args=_args(signature.get("inputArg", []), name, "inputArg"),
            output_args=_args(signature.get("outputArg", []), name, "outputArg"),
            nodes=decode_nodes(raw.get("nodeDef", []), f"function {name!r}"),
            ret=dict(ret))
    return out


def _args(raw: object, function: str, kind: str) -> list[ArgDef]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ModelFormatError(f"function {function!r}: signature.{kind} must be a list")
    args = []
    for i, arg in enumerate(raw):
        if not isinstance(arg, dict) or not isinstance(arg.get("name"), str) or not arg["name"]:
            raise ModelFormatError(f"function {function!r}: signature.{kind}[{i}] has no name")
        dtype = arg.get("type")
        args.append(ArgDef(arg["name"], decode_dtype(dtype, f"function {function!r}, {kind} {arg['name']!r}")
                           if dtype else None))
    return args


def decode_dtype(value: object, where: str) -> str:
    """A DataType ('DT_FLOAT' or its enum number) -> 'float32'; anything else is a ModelFormatError."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ModelFormatError(f"{where}: dtype must be a DataType name like 'DT_FLOAT', got {value!r:.60}")
    try:
        return dtypes.tf_type_name(value)
    except ModelFormatError as error:
        raise ModelFormatError(f"{where}: {error}") from None


def decode_attr(value: Any) -> Any:
    """One AttrValue: {"s": b64} | {"i": "5"} | {"f": 1.5} | {"b": true} | {"type": "DT_FLOAT"} |
    {"shape": {...}} | {"tensor": {...}} | {"list": {...}} | {"func": {...}} | {}."""
    if not isinstance(value, dict):
        raise ModelFormatError("attr value must be an object")
    if not value:
        return None
    if "list" in value:
        return _decode_list(value["list"] or {})
    kind, payload = next(iter(value.items()))
    return _SCALAR[kind](payload) if kind in _SCALAR else _unknown(kind)


def _int(value: Any, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
    """An int64 (or, with other bounds, uint64) as proto JSON writes it: a number or a decimal string."""
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r:.60}")
    if not lo <= value <= hi:
        raise ValueError(f"{value} is out of the {'int64' if hi == INT64_MAX else 'unsigned'} range")
    return value


def _unknown(kind: str) -> Any:
    if kind == "placeholder":
        return None
    raise ModelFormatError(f"unknown attr kind {kind!r}")


def _decode_list(lst: dict) -> list:
    if not isinstance(lst, dict):
        raise ModelFormatError(f"attr list must be an object, got {lst!r:.60}")
    for kind, items in lst.items():
        if kind not in _SCALAR:
            raise ModelFormatError(f"unknown attr list kind {kind!r}")
        if items and not isinstance(items, list):
            raise ModelFormatError(f"attr list {kind!r} must be a list, got {items!r:.60}")
        if items:
            return [_SCALAR[kind](item) for item in items]
    return []


def decode_string(text: str) -> str | bytes:
    data = base64.b64decode(_base64_text(text), validate=False)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {value!r:.60}")
    return float(value)  # proto JSON spells specials "NaN", "Infinity", "-Infinity"; float() reads them


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):  # proto JSON bools are true/false; bool("false") would be True
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def decode_shape(shape: object) -> tuple[int, ...] | None:
    """TensorShapeProto -> tuple with -1 for unknown dims, or None for unknown rank.

    Grappler writes symbolic unknown dims as -2, -3, ... (in `_input_shapes`): every negative size
    is an unknown one. Raises ModelFormatError for anything that is not a shape."""
    if not isinstance(shape, dict):
        raise ModelFormatError(f"a tensor shape must be an object, got {shape!r:.60}")
    if shape.get("unknownRank"):
        return None
    dims = shape.get("dim", [])
    if dims is None:
        dims = []
    if not isinstance(dims, list):
        raise ModelFormatError(f"tensor shape 'dim' must be a list, got {dims!r:.60}")
    out = []
    for dim in dims:
        if not isinstance(dim, dict):
            raise ModelFormatError(f"tensor shape dim must be an object like {{'size': '3'}}, got {dim!r:.60}")
        try:
            size = _int(dim.get("size", 0))
        except ValueError as error:
            raise ModelFormatError(f"tensor shape dim size: {error}") from None
        out.append(size)
    return tuple(out)


def _func(raw: dict) -> FuncRef:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ValueError(f"function attr needs a name, got {raw!r:.60}")
    attrs = raw.get("attr") or {}
    if not isinstance(attrs, dict):
        raise ValueError(f"function {raw['name']!r}: 'attr' must be an object")
    return FuncRef(raw["name"], {k: decode_attr(v) for k, v in attrs.items()})


_TENSOR_FIELDS = ("floatVal", "doubleVal", "intVal", "int64Val", "uint32Val", "uint64Val", "boolVal",
                  "halfVal", "stringVal", "scomplexVal", "dcomplexVal")


def decode_tensor(raw: dict) -> np.ndarray:
    """TensorProto -> numpy array of its fine dtype (int64 stays int64; storage conversion is the caller's).

    The shape is checked against engine.io.Limits before anything is allocated."""
    if not isinstance(raw, dict):
        raise ModelFormatError(f"a tensor must be an object, got {raw!r:.60}")
    dtype = decode_dtype(raw.get("dtype", "DT_FLOAT"), "tensor")
    shape = decode_shape(raw.get("tensorShape", {})) or ()
    if any(d < 0 for d in shape):
        raise ModelFormatError(f"tensor has unknown dimensions {list(shape)}")
    np_dtype = dtypes.numpy_dtype(dtype) if dtype != "string" else np.dtype(object)
    check_tensor_size("tensor", shape, np_dtype.itemsize)
    size = math.prod(shape)
    if "tensorContent" in raw and dtype != "string":
        content = base64.b64decode(raw["tensorContent"])
        if dtype == "bfloat16":  # 2 bytes each: the upper half of a float32
            flat = _bfloat16_to_float32(np.frombuffer(content, "<u2"))
        else:
            flat = np.frombuffer(content, np_dtype.newbyteorder("<")).astype(np_dtype)
        if flat.size != size:
            raise ModelFormatError(f"tensorContent holds {flat.size} values for shape {list(shape)}")
        return flat.reshape(shape)
    values = _typed_values(raw, dtype)
    if len(values) == 0:
        return np.zeros(shape, np_dtype) if dtype != "string" else np.full(shape, b"", dtype=object)
    if len(values) > size:
        raise ModelFormatError(f"tensor has {len(values)} values for shape {list(shape)}")
    flat = np.empty(size, np_dtype)
    flat[:len(values)] = values
    flat[len(values):] = values[-1]  # TensorFlow repeats the last value to fill the shape
    return flat.reshape(shape)


def _typed_values(raw: dict, dtype: str) -> list:
    for name in _TENSOR_FIELDS:
        if name in raw and raw[name]:
            items = raw[name]
            if not isinstance(items, list):
                raise ModelFormatError(f"tensor {name!r} must be a list, got {items!r:.60}")
            if name == "stringVal":
                return [base64.b64decode(_base64_text(s)) for s in items]
            if name == "halfVal":
                bits = np.array([_int(v, 0, 0xFFFF) for v in items], np.uint16)
                return list(_bfloat16_to_float32(bits) if dtype == "bfloat16" else bits.view(np.float16))
            if name in ("scomplexVal", "dcomplexVal"):
                parts = [_float(v) for v in items]
                return [complex(r, i) for r, i in zip(parts[0::2], parts[1::2])]
            if name == "boolVal":
                return [_bool(v) for v in items]
            if dtype.startswith("uint"):
                return [_int(v, 0, UINT64_MAX) for v in items]
            if dtype.startswith("int"):
                return [_int(v) for v in items]
            return [_float(v) for v in items]
    return []


def _base64_text(text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"expected a base64 string, got {text!r:.60}")
    return text


def _bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


_SCALAR = {
    "s": decode_string,
    "i": _int,
    "f": _float,
    "b": _bool,
    "type": lambda value: decode_dtype(value, "type"),
    "shape": decode_shape,
    "tensor": decode_tensor,
    "func": _func,
}
