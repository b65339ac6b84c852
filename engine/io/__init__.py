"""TF.js model format I/O without TensorFlow: model.json, weights manifests, shards, GraphDef JSON."""
from engine.io import graph_def, quantization
from engine.io.fetch import read_bytes, resolve_weight_path
from engine.io.limits import Limits, check_tensor_size
from engine.io.model_json import (GRAPH_MODEL, LAYERS_MODEL, ModelArtifacts, load_model_json, model_json_dict,
                                  parse_model_json)
from engine.io.weights import (DEFAULT_SHARD_BYTES, WeightGroup, WeightSpec, decode_group, load_weights,
                               parse_manifest, read_weight_arrays, write_weights)

__all__ = [
    "GRAPH_MODEL", "LAYERS_MODEL", "DEFAULT_SHARD_BYTES", "Limits", "ModelArtifacts", "WeightGroup", "WeightSpec",
    "check_tensor_size", "decode_group", "graph_def", "load_model_json", "load_weights", "model_json_dict",
    "parse_manifest", "parse_model_json", "quantization", "read_bytes", "read_weight_arrays", "resolve_weight_path",
    "write_weights",
]
