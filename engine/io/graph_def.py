"""Decoding a GraphDef in the proto3 JSON form model.json uses: nodes, attrs, tensors, functions."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine import dtypes
from engine.errors import AttrError, ModelFormatError


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
    attrs = {}
    for key, value in raw_attrs.items():
        try:
            attrs[key] = decode_attr(value)
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, ModelFormatError) as error:
            raise AttrError(name, key, f"cannot decode {str(value)[:120]}: {error}") from None
    return NodeDef(name, op, list(inputs), attrs, raw.get("device", "") or "")


def decode_functions(library: object) -> dict[str, FunctionDef]:
    if not library:
        return {}
    if not isinstance(library, dict):
        raise ModelFormatError("modelTopology.library must be an object")
    out = {}
    for i, raw in enumerate(library.get("function", []) or []):
        signature = raw.get("signature", {}) if isinstance(raw, dict) else None
        if not isinstance(signature, dict) or not isinstance(signature.get("name"), str):
            raise ModelFormatError(f"library.function[{i}] has no signature name")
        name = signature["name"]
        out[name] = FunctionDef(
            name=name,
            input_args=[_arg(a) for a in signature.get("inputArg", [])],
            output_args=[_arg(a) for a in signature.get("outputArg", [])],
            nodes=decode_nodes(raw.get("nodeDef", []), f"function {name!r}"),
            ret=dict(raw.get("ret", {})))
    return out


def _arg(raw: dict) -> ArgDef:
    kind = raw.get("type")
    return ArgDef(raw["name"], dtypes.tf_type_name(kind) if kind else None)


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


def _unknown(kind: str) -> Any:
    if kind == "placeholder":
        return None
    raise ModelFormatError(f"unknown attr kind {kind!r}")


def _decode_list(lst: dict) -> list:
    for kind, items in lst.items():
        if kind not in _SCALAR:
            raise ModelFormatError(f"unknown attr list kind {kind!r}")
        if items:
            return [_SCALAR[kind](item) for item in items]
    return []


def decode_string(text: str) -> str | bytes:
    data = base64.b64decode(text, validate=False)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _float(value: Any) -> float:
    return float(value)  # proto JSON spells specials "NaN", "Infinity", "-Infinity"; float() reads them


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):  # proto JSON bools are true/false; bool("false") would be True
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def decode_shape(shape: dict) -> tuple[int, ...] | None:
    """TensorShapeProto -> tuple with -1 for unknown dims, or None for unknown rank."""
    if shape.get("unknownRank"):
        return None
    return tuple(int(dim.get("size", 0)) for dim in shape.get("dim", []))


def _func(raw: dict) -> FuncRef:
    return FuncRef(raw["name"], {k: decode_attr(v) for k, v in (raw.get("attr") or {}).items()})


_TENSOR_FIELDS = ("floatVal", "doubleVal", "intVal", "int64Val", "uint32Val", "uint64Val", "boolVal",
                  "halfVal", "stringVal", "scomplexVal", "dcomplexVal")


def decode_tensor(raw: dict) -> np.ndarray:
    """TensorProto -> numpy array of its fine dtype (int64 stays int64; storage conversion is the caller's)."""
    dtype = dtypes.tf_type_name(raw.get("dtype", "DT_FLOAT"))
    shape = decode_shape(raw.get("tensorShape", {})) or ()
    if any(d < 0 for d in shape):
        raise ModelFormatError(f"tensor has unknown dimensions {list(shape)}")
    size = int(np.prod(shape, dtype=np.int64))
    np_dtype = dtypes.numpy_dtype(dtype) if dtype != "string" else np.dtype(object)
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
            if name == "stringVal":
                return [base64.b64decode(s) for s in items]
            if name == "halfVal":
                bits = np.array([int(v) for v in items], np.uint16)
                return list(_bfloat16_to_float32(bits) if dtype == "bfloat16" else bits.view(np.float16))
            if name in ("scomplexVal", "dcomplexVal"):
                parts = [float(v) for v in items]
                return [complex(r, i) for r, i in zip(parts[0::2], parts[1::2])]
            if name == "boolVal":
                return [_bool(v) for v in items]
            if dtype.startswith(("int", "uint")):
                return [int(v) for v in items]
            return [float(v) for v in items]
    return []


def _bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


_SCALAR = {
    "s": decode_string,
    "i": int,
    "f": _float,
    "b": _bool,
    "type": dtypes.tf_type_name,
    "shape": decode_shape,
    "tensor": decode_tensor,
    "func": _func,
}
