"""Writing a TF.js graph model (model.json + shards) from an optimized GraphDef."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping

import numpy as np
from google.protobuf.json_format import MessageToDict
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow.python.framework import tensor_util

from engine.io import DEFAULT_SHARD_BYTES, write_weights

CONVERTED_BY = "tfgl converter v0.1.0"
# TensorProto fields that hold values; model.json keeps only a Const's dtype and shape.
VALUE_FIELDS = ("tensor_content", "half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val",
                "int64_val", "bool_val", "resource_handle_val", "variant_val", "uint32_val", "uint64_val")


def _take_constants(nodes) -> list[tuple[str, np.ndarray]]:
    """Moves every Const's value out of the graph into the weights list."""
    weights = []
    for node in nodes:
        if node.op != "Const":
            continue
        weights.append((node.name, tensor_util.MakeNdarray(node.attr["value"].tensor)))
        for field in VALUE_FIELDS:
            node.attr["value"].tensor.ClearField(field)
    return weights


def _prefix_function_constants(function) -> None:
    """Function-body constants are renamed '<function>/<const>' so weight names stay unique."""
    constants = {n.name for n in function.node_def if n.op == "Const"}
    prefix = function.signature.name + "/"
    for node in function.node_def:
        if node.op == "Const":
            node.name = prefix + node.name
            continue
        for i, reference in enumerate(node.input):
            bare = reference.lstrip("^").split(":")[0]
            if bare in constants:
                node.input[i] = ("^" if reference.startswith("^") else "") + prefix + reference.lstrip("^")


def extract_weights(graph_def: graph_pb2.GraphDef) -> list[tuple[str, np.ndarray]]:
    weights = _take_constants(graph_def.node)
    for function in graph_def.library.function:
        _prefix_function_constants(function)
        weights += _take_constants(function.node_def)
    return weights


def write_graph_model(graph_def: graph_pb2.GraphDef, signature: meta_graph_pb2.SignatureDef, folder: str,
                      tf_version: str, quantize: Mapping[str, object] | None = None,
                      shard_size_bytes: int = DEFAULT_SHARD_BYTES, metadata: dict | None = None) -> dict:
    """Writes model.json and its shards into `folder`; returns the model.json object."""
    graph_def = graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
    weights = extract_weights(graph_def)
    model_json = {
        "format": "graph-model",
        "generatedBy": tf_version,
        "convertedBy": CONVERTED_BY,
        "signature": MessageToDict(signature),
        "modelTopology": MessageToDict(graph_def),
    }
    if metadata:
        model_json["userDefinedMetadata"] = metadata
    model_json["weightsManifest"] = write_weights([weights], folder, shard_size_bytes, quantize)
    with open(os.path.join(folder, "model.json"), "w") as file:
        json.dump(model_json, file)
    return model_json
