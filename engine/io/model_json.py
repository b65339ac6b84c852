"""model.json: the TF.js model artifact (graph-model or layers-model) and its validation."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.errors import ModelFormatError
from engine.io import fetch

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
            raise ModelFormatError("model.json has no 'format' and its modelTopology is neither a graph nor a layers model")
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
    return ModelArtifacts(
        format=declared, model_topology=topology, weights_manifest=manifest, base=base,
        signature=data.get("signature"), user_defined_metadata=data.get("userDefinedMetadata"),
        model_initializer=data.get("modelInitializer"), initializer_signature=data.get("initializerSignature"),
        generated_by=data.get("generatedBy"), converted_by=data.get("convertedBy"),
        training_config=data.get("trainingConfig"), headers=dict(headers or {}))


def load_model_json(location: str | os.PathLike, headers: Mapping[str, str] | None = None) -> ModelArtifacts:
    """Reads model.json from a path (file or folder), file:// or http(s):// URL."""
    location = os.fspath(location)
    if not fetch.is_url(location) and os.path.isdir(location):
        location = os.path.join(location, "model.json")
    raw = fetch.read_bytes(location, dict(headers or {}))
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFormatError(f"{location} is not valid JSON: {error}") from None
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
