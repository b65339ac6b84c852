"""The conformance report of one or more models: every node's outputs on each backend against a
reference, and the first node (in execution order) where a backend leaves the tolerance."""
from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from engine import __version__
from engine.conformance.capture import TensorName, backend_named, graph_depths, watch
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
    """Each backend's tensors are compared as they are produced and dropped: memory holds the
    reference's values (and, with a TensorFlow or TF.js reference, whose tensors to ask for are only
    known after a run, the first backend's)."""
    runnable = sum(1 for node in model.graph.nodes.values() if node.op not in ("Const", "Placeholder"))
    expected = reference_values(reference, model, location, inputs, []) if reference == "cpu" else None
    rows: dict[TensorName, TensorRow] = {}
    first_failure: dict[str, TensorName | None] = {}
    for name in backends:
        backend = backend_named(name)
        with tqdm(total=runnable, desc=f"{_short(location)} on {name}", unit="node", disable=not progress,
                  leave=False) as bar:
            results = _backend_results(model, backend, inputs, rows, expected, tolerance, bar.update)
        if expected is None:
            expected = reference_values(reference, model, location, inputs, list(results))
            results = {tensor: _compared(value, expected.get(tensor), tolerance) for tensor, value in results.items()}
        for tensor, result in results.items():
            rows[tensor].results[name] = result
        first_failure[name] = next((t for t, c in results.items() if c is not None and not c.within_tolerance), None)
    for row in rows.values():
        row.results = {name: row.results.get(name) for name in backends}
        row.reference_dtype = str(expected[row.tensor].dtype) if expected and row.tensor in expected else None
    return ModelReport(location, {k: list(v.shape) for k, v in inputs.items()}, list(rows.values()), first_failure,
                       [t for t in rows if not expected or t not in expected])


def _backend_results(model: GraphModel, backend, inputs: dict[str, np.ndarray], rows: dict[TensorName, TensorRow],
                     expected: dict[TensorName, np.ndarray] | None, tolerance: Tolerance, on_node) -> dict:
    """tensor -> its Comparison (None: no reference value) from one run; without `expected` yet, the
    values themselves. New tensors get a row."""
    nodes, depths = model.graph.nodes, graph_depths(model)
    results: dict[TensorName, Any] = {}

    def keep(tensor: TensorName, value: np.ndarray) -> None:
        if tensor not in rows:
            node = tensor if tensor in nodes else tensor.rsplit(":", 1)[0]
            rows[tensor] = TensorRow(tensor, node, nodes[node].op, depths.get(node, 0), list(value.shape),
                                     str(value.dtype), None)
        results[tensor] = value if expected is None else _compared(value, expected.get(tensor), tolerance)

    watch(model, backend, inputs, keep, on_node=on_node)
    return results


def _compared(value: np.ndarray, reference: np.ndarray | None, tolerance: Tolerance) -> Comparison | None:
    return None if reference is None else compare(value, reference, tolerance)


def _short(location: str) -> str:
    return location if len(location) < 40 else "..." + location[-37:]
