"""The conformance report of one or more models: every node's outputs on each backend against a
reference, and the first node (in execution order) where a backend leaves the tolerance."""
from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from engine import __version__
from engine.conformance.capture import TensorName, backend_named, capture, graph_depths
from engine.conformance.compare import Comparison, Tolerance, compare
from engine.conformance.references import reference_values
from engine.graph import GraphModel

REFERENCE_NAMES = {"cpu": "tfgl CPU kernels in float64", "tf": "TensorFlow (tfgl's reverse converter)",
                   "tfjs": "TF.js in node (CPU backend)"}


@dataclass
class TensorRow:
    tensor: TensorName
    node: str
    op: str
    depth: int
    shape: list[int]
    dtype: str
    reference_dtype: str | None   # float32 where the float64 reference's kernel computed in float32
    results: dict[str, Comparison | None] = field(default_factory=dict)  # None: the backend did not produce it


@dataclass
class ModelReport:
    model: str
    inputs: dict[str, list[int]]
    rows: list[TensorRow]
    first_failure: dict[str, TensorName | None]   # per backend
    unreferenced: list[TensorName]                # produced by a backend, but the reference has no value

    def row(self, tensor: TensorName) -> TensorRow:
        return next(row for row in self.rows if row.tensor == tensor)

    def float32_references(self) -> list[TensorName]:
        """Float tensors the float64 reference computed in float32 (a kernel that casts, as Cast does)."""
        return [row.tensor for row in self.rows if row.dtype == "float32" and row.reference_dtype == "float32"]


@dataclass
class Report:
    reference: str
    backends: list[str]
    tolerance: Tolerance
    models: list[ModelReport]
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc)
                         .isoformat(timespec="seconds"))

    def as_dict(self) -> dict:
        return json_safe({
            "tool": "tfgl conformance", "tfgl": __version__, "created": self.created,
            "reference": self.reference, "reference_description": REFERENCE_NAMES[self.reference],
            "backends": self.backends, "tolerance": {"atol": self.tolerance.atol, "rtol": self.tolerance.rtol},
            "models": [{
                "model": m.model, "inputs": m.inputs, "first_failure": m.first_failure, "unreferenced": m.unreferenced,
                "tensors": [{"tensor": r.tensor, "node": r.node, "op": r.op, "depth": r.depth, "shape": r.shape,
                             "dtype": r.dtype, "reference_dtype": r.reference_dtype,
                             "results": {b: (c.as_dict() if c is not None else None) for b, c in r.results.items()}}
                            for r in m.rows],
            } for m in self.models],
        })


def json_safe(value):
    """JSON has no Infinity or NaN: they become null (a shape mismatch's error)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def model_report(model: GraphModel, location: str, inputs: dict[str, np.ndarray], backends: Sequence[str],
                 reference: str, tolerance: Tolerance, progress: bool = False) -> ModelReport:
    nodes = model.graph.nodes
    runnable = sum(1 for node in nodes.values() if node.op not in ("Const", "Placeholder"))
    captured: dict[str, dict[TensorName, np.ndarray]] = {}
    for name in backends:
        backend = backend_named(name)
        with tqdm(total=runnable, desc=f"{_short(location)} on {name}", unit="node", disable=not progress,
                  leave=False) as bar:
            captured[name] = capture(model, backend, inputs, on_node=bar.update)
    order = list(dict.fromkeys(t for values in captured.values() for t in values))
    expected = reference_values(reference, model, location, inputs, order)
    depths = graph_depths(model)
    rows = []
    for tensor in order:
        node = tensor if tensor in nodes else tensor.rsplit(":", 1)[0]
        some = next(values[tensor] for values in captured.values() if tensor in values)
        ref = expected.get(tensor)
        row = TensorRow(tensor, node, nodes[node].op, depths.get(node, 0), list(some.shape), str(some.dtype),
                        None if ref is None else str(ref.dtype))
        for name in backends:
            value = captured[name].get(tensor)
            row.results[name] = None if value is None or ref is None else compare(value, ref, tolerance)
        rows.append(row)
    by_tensor = {row.tensor: row for row in rows}
    first_failure = {name: next((t for t in captured[name] if (c := by_tensor[t].results[name]) is not None
                                 and not c.within_tolerance), None) for name in backends}
    return ModelReport(location, {k: list(v.shape) for k, v in inputs.items()}, rows, first_failure,
                       [t for t in order if t not in expected])


def _short(location: str) -> str:
    return location if len(location) < 40 else "..." + location[-37:]
