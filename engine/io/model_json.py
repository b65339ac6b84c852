"""model.json: the TF.js model artifact (graph-model or layers-model) and its validation."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from engine import dtypes
from engine.errors import ModelFormatError
from engine.io import fetch, graph_def
from engine.io.limits import Limits

GRAPH_MODEL = "graph-model"
LAYERS_MODEL = "layers-model"


@dataclass
class ModelArtifacts:
    """What model.json holds, plus where its shards are resolved from."""

    format: str
    model_topology: dict
    weights_manifest: list
    base: str
    signature: dict | None = None
    user_defined_metadata: dict | None = None
    model_initializer: dict | None = None
    initializer_signature: dict | None = None
    generated_by: str | None = None
    converted_by: str | None = None
    training_config: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _infer_format(topology: dict) -> str | None:
    if "node" in topology or "library" in topology or "versions" in topology:
        return GRAPH_MODEL
    if "class_name" in topology or "model_config" in topology or "config" in topology:
        return LAYERS_MODEL
    return None


def parse_model_json(data: object, base: str, headers: Mapping[str, str] | None = None) -> ModelArtifacts:
    """Validates the decoded JSON of a model.json."""
    if not isinstance(data, dict):
        raise ModelFormatError("model.json must hold a JSON object")
    topology = data.get("modelTopology")
    if not isinstance(topology, dict):
        raise ModelFormatError("model.json has no 'modelTopology' object")
    inferred = _infer_format(topology)
    declared = data.get("format")
    if declared is None:
        if inferred is None:
            raise ModelFormatError("model.json has no 'format' and its modelTopology is neither a graph nor "
                                   "a layers model")
        declared = inferred
    elif declared not in (GRAPH_MODEL, LAYERS_MODEL):
        raise ModelFormatError(f"model.json 'format' is {declared!r}; expected 'graph-model' or 'layers-model'")
    elif inferred is not None and inferred != declared:
        raise ModelFormatError(f"model.json says format {declared!r} but its modelTopology is a {inferred}")
    manifest = data.get("weightsManifest", [] if declared == GRAPH_MODEL and not topology.get("node") else None)
    if not isinstance(manifest, list):
        raise ModelFormatError("model.json has no 'weightsManifest' list")
    for key in ("signature", "userDefinedMetadata", "modelInitializer", "initializerSignature"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ModelFormatError(f"model.json '{key}' must be an object")
    for key in ("signature", "initializerSignature"):
        if data.get(key) is not None:
            _check_signature(data[key], key)
    if declared == GRAPH_MODEL:
        _check_weights_match_nodes(topology, manifest)
    return ModelArtifacts(
        format=declared, model_topology=topology, weights_manifest=manifest, base=base,
        signature=data.get("signature"), user_defined_metadata=data.get("userDefinedMetadata"),
        model_initializer=data.get("modelInitializer"), initializer_signature=data.get("initializerSignature"),
        generated_by=data.get("generatedBy"), converted_by=data.get("convertedBy"),
        training_config=data.get("trainingConfig"), headers=dict(headers or {}))


def _check_signature(signature: dict, where: str) -> None:
    """inputs/outputs: {key: {name: "node:0", dtype: "DT_FLOAT", tensorShape: {...}}}, each part checked."""
    for part in ("inputs", "outputs"):
        entries = signature.get(part)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            raise ModelFormatError(f"model.json {where}.{part} must be an object")
        for key, info in entries.items():
            what = f"model.json {where}.{part}[{key!r}]"
            if not isinstance(info, dict) or not isinstance(info.get("name"), str) or not info["name"]:
                raise ModelFormatError(f"{what} has no tensor name")
            if "dtype" in info:
                graph_def.decode_dtype(info["dtype"], what)
            if "tensorShape" in info:
                try:
                    graph_def.decode_shape(info["tensorShape"])
                except ModelFormatError as error:
                    raise ModelFormatError(f"{what}: {error}") from None


def _const_nodes(topology: dict) -> dict[str, dict]:
    """name -> raw Const node, in the graph and in its library's functions (malformed parts skipped:
    decoding the graph reports them)."""
    raw_nodes = list(topology.get("node") or []) if isinstance(topology.get("node"), list) else []
    library = topology.get("library")
    functions = library.get("function") if isinstance(library, dict) else None
    for function in functions if isinstance(functions, list) else []:
        body = function.get("nodeDef") if isinstance(function, dict) else None
        raw_nodes += body if isinstance(body, list) else []
    return {node["name"]: node for node in raw_nodes
            if isinstance(node, dict) and node.get("op") == "Const" and isinstance(node.get("name"), str)}


_TENSOR_VALUES = ("tensorContent", "floatVal", "doubleVal", "intVal", "int64Val", "uint32Val", "uint64Val", "boolVal",
                  "halfVal", "stringVal", "scomplexVal", "dcomplexVal")


def _check_weights_match_nodes(topology: dict, manifest: list) -> None:
    """Every weight that holds a Const node's value has the shape and dtype that node declares (the
    official converter always writes both the same; the graph's shape logic relies on them), and
    every Const node whose `value` is only a dtype and shape (the converter's stub) has a weight: a
    lost weight would otherwise read as zeros (a loop step of 0 never ends)."""
    consts = _const_nodes(topology)
    named = {entry["name"] for group in manifest if isinstance(group, dict) and isinstance(group.get("weights"), list)
             for entry in group["weights"] if isinstance(entry, dict) and isinstance(entry.get("name"), str)}
    for name, node in consts.items():
        value = node.get("attr", {}).get("value") if isinstance(node.get("attr"), dict) else None
        tensor = value.get("tensor") if isinstance(value, dict) else None
        if name in named or not isinstance(tensor, dict) or any(tensor.get(key) for key in _TENSOR_VALUES):
            continue
        try:
            shape = graph_def.decode_shape(tensor.get("tensorShape", {}))
        except ModelFormatError:
            continue  # decoding the node reports it
        if shape is not None and all(d != 0 for d in shape):
            raise ModelFormatError(f"Const node {name!r} has no value: no weight of that name in the weightsManifest "
                                   f"and its 'value' attr holds only a dtype and shape")
    for group in manifest:
        entries = group.get("weights") if isinstance(group, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            node = consts.get(entry.get("name")) if isinstance(entry, dict) and isinstance(entry.get("name"), str) \
                else None
            attrs = node.get("attr") if node is not None else None
            if not isinstance(attrs, dict):
                continue
            name = entry["name"]
            tensor = attrs.get("value", {}).get("tensor") if isinstance(attrs.get("value"), dict) else None
            if isinstance(tensor, dict) and "tensorShape" in tensor and isinstance(entry.get("shape"), list):
                try:
                    declared = graph_def.decode_shape(tensor["tensorShape"])
                except ModelFormatError as error:
                    raise ModelFormatError(f"Const node {name!r}: {error}") from None
                if declared is not None and list(declared) != entry["shape"]:
                    raise ModelFormatError(f"weight {name!r} has shape {entry['shape']!r:.100} in the weightsManifest "
                                           f"but its Const node declares {list(declared)}")
            dtype = attrs.get("dtype", {}).get("type") if isinstance(attrs.get("dtype"), dict) else None
            if dtype is not None and isinstance(entry.get("dtype"), str):
                try:
                    storage = dtypes.storage_dtype(graph_def.decode_dtype(dtype, f"Const node {name!r}"))
                except ModelFormatError:
                    continue  # decoding the node reports it
                if storage != entry["dtype"]:
                    raise ModelFormatError(f"weight {name!r} is {entry['dtype']!r:.40} in the weightsManifest but its "
                                           f"Const node holds {dtype!r:.40}")


def load_model_json(location: str | os.PathLike, headers: Mapping[str, str] | None = None) -> ModelArtifacts:
    """Reads model.json from a path (file or folder), file:// or http(s):// URL."""
    location = os.fspath(location)
    if not fetch.is_url(location) and os.path.isdir(location):
        location = os.path.join(location, "model.json")
    raw = fetch.read_bytes(location, dict(headers or {}), max_bytes=Limits.max_model_json_bytes,
                           bound_note="the limit for model.json: engine.io.Limits.max_model_json_bytes, "
                                      "TFGL_MAX_MODEL_JSON_BYTES")
    try:
        text = raw.decode("utf-8-sig")  # strict: no lone surrogates or stray bytes inside names
    except UnicodeDecodeError as error:
        raise ModelFormatError(f"{location} is not valid JSON: not UTF-8 text ({error})") from None
    try:
        data = json.loads(text)
    except ValueError as error:  # JSONDecodeError, or an integer literal too long to convert
        raise ModelFormatError(f"{location} is not valid JSON: {error}") from None
    except RecursionError:
        raise ModelFormatError(f"{location} nests JSON too deeply") from None
    return parse_model_json(data, fetch.parent_of(location), headers)


def model_json_dict(artifacts: ModelArtifacts) -> dict[str, Any]:
    """The JSON object of a model.json, keys in the official converter's order."""
    out: dict[str, Any] = {"format": artifacts.format, "generatedBy": artifacts.generated_by,
                           "convertedBy": artifacts.converted_by}
    if artifacts.signature is not None:
        out["signature"] = artifacts.signature
    if artifacts.user_defined_metadata is not None:
        out["userDefinedMetadata"] = artifacts.user_defined_metadata
    out["modelTopology"] = artifacts.model_topology
    if artifacts.training_config is not None:
        out["trainingConfig"] = artifacts.training_config
    out["weightsManifest"] = artifacts.weights_manifest
    if artifacts.model_initializer is not None:
        out["modelInitializer"] = artifacts.model_initializer
    if artifacts.initializer_signature is not None:
        out["initializerSignature"] = artifacts.initializer_signature
    return out
