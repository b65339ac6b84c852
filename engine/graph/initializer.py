"""A graph model's initializer graph (model.json's `modelInitializer`): run once when the model loads,
as TF.js runs it before the first call, it makes and fills the model's hash tables.

The main graph then reaches a table in one of two ways, as the converters write them:
* TF1 models: a HashTable node of the same name in the main graph (tables are found by name);
* TF2 models: a resource Placeholder whose signature entry carries a `resourceId`, bound to the
  initializer output (in `initializerSignature`) that carries the same id.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.backends import get_backend
from engine.errors import ModelFormatError
from engine.graph.executor import Executor, Library
from engine.graph.graph import Graph, build_graph, parse_tensor_name
from engine.io import ModelArtifacts, graph_def
from engine.kernels.cpu.hash_table import Resources


def initializer_graph(artifacts: ModelArtifacts) -> Graph | None:
    topology = artifacts.model_initializer
    if not topology:
        return None
    if not isinstance(topology, dict):
        raise ModelFormatError("modelInitializer must be a GraphDef object")
    if not topology.get("node"):
        return None
    return build_graph(graph_def.decode_nodes(topology["node"], "modelInitializer"),
                       graph_def.decode_functions(topology.get("library")))


def _resource_id(value: object) -> int | None:
    """A resourceId: a number, or its decimal string as proto JSON may write it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.lstrip("-").isdigit() else None


def _resource_ids(entries: object, where: str) -> dict[str, int]:
    """tensor name -> resourceId of the signature entries that carry one."""
    if not isinstance(entries, dict):
        return {}
    ids = {}
    for key, info in entries.items():
        if not isinstance(info, dict) or "resourceId" not in info:
            continue
        resource_id = _resource_id(info["resourceId"])
        if not isinstance(info.get("name"), str) or resource_id is None:
            raise ModelFormatError(f"{where} entry {key!r} has a malformed name or resourceId")
        ids[info["name"]] = resource_id
    return ids


def resource_inputs(signature: dict | None) -> dict[str, int]:
    """Main-graph input tensor -> resourceId, for the inputs that are captured resources (not user inputs)."""
    return _resource_ids((signature or {}).get("inputs"), "signature input")


def run_initializer(graph: Graph, artifacts: ModelArtifacts, weights: Mapping[str, np.ndarray],
                    resources: Resources) -> dict[int, Any]:
    """Runs the initializer graph on the CPU backend: its signature outputs, and every node nothing
    else reads (the initializing ops of TF1 models, which have no signature). Returns the resource
    outputs by resourceId."""
    backend = get_backend("cpu")
    executor = Executor(graph, weights, Library(graph.functions, weights, lambda: backend, resources))
    outputs = _resource_ids((artifacts.initializer_signature or {}).get("outputs"), "initializerSignature output")
    fetches = [parse_tensor_name(name) for name in outputs]
    read = {source for node in graph.nodes.values() for source in [s for s, _ in node.inputs] + node.control_inputs}
    targets = [name for name in graph.nodes if name not in read]
    results = executor.run({}, fetches, backend, targets)
    return dict(zip(outputs.values(), results))


def bind_resources(graph: Graph, inputs: dict[str, int], made: dict[int, Any]) -> dict[str, Any]:
    """Main-graph Placeholder name -> the resource the initializer made for it."""
    bound = {}
    for tensor, resource_id in inputs.items():
        name, _ = parse_tensor_name(tensor)
        if name not in graph.nodes:
            raise ModelFormatError(f"signature input {tensor!r} names no node of the graph")
        if resource_id not in made:
            raise ModelFormatError(f"input {tensor!r} is the resource {resource_id}, which the model's initializer "
                                   "does not make")
        bound[name] = made[resource_id]
    return bound
