"""Op coverage: for each TensorFlow op TF.js supports (op_targets.json, by category), whether each
tfgl backend runs it with its own kernel, through the CPU fallback, or not at all."""
from __future__ import annotations

import json
import os

from engine.errors import TFDF_OPS
from engine.kernels import register_all  # noqa: F401  (the coverage of every registered kernel)
from engine.kernels.registry import BACKEND_NEUTRAL, EXECUTOR_OPS, get_kernel

TARGETS = os.path.join(os.path.dirname(__file__), "op_targets.json")


def targets() -> dict[str, list[str]]:
    with open(TARGETS) as file:
        return json.load(file)


def status(op: str, backend: str) -> str:
    """'gl' (a GLSL kernel), 'cpu' (numpy kernel, or CPU fallback on webgl), 'neutral' (needs no
    kernel of its own: executor or shape-only), 'refused' (TF-DF's ops: a model using them is
    refused at load with an error naming TF-DF) or 'missing'."""
    if op in TFDF_OPS:
        return "refused"
    if op in EXECUTOR_OPS or get_kernel(op, BACKEND_NEUTRAL) is not None:
        return "neutral"
    if backend == "webgl" and get_kernel(op, "webgl") is not None:
        return "gl"
    return "cpu" if get_kernel(op, "cpu") is not None else "missing"


def table() -> dict[str, dict[str, dict[str, str]]]:
    return {category: {op: {b: status(op, b) for b in ("cpu", "webgl")} for op in ops}
            for category, ops in targets().items()}


def coverage_report(as_json: bool = False) -> int:
    data = table()
    totals = {b: {} for b in ("cpu", "webgl")}
    for ops in data.values():
        for per_backend in ops.values():
            for backend, state in per_backend.items():
                totals[backend][state] = totals[backend].get(state, 0) + 1
    if as_json:
        print(json.dumps({"ops": data, "totals": totals}, indent=1))
        return 0
    for category, ops in data.items():
        print(f"{category}:")
        for op, per_backend in ops.items():
            print(f"  {op:32s} cpu: {per_backend['cpu']:8s} webgl: {per_backend['webgl']}")
    count = sum(len(ops) for ops in data.values())
    for backend, states in totals.items():
        parts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        print(f"{backend}: {count} ops: {parts}")
    print("refused: the SimpleML* ops of TensorFlow Decision Forests (TF-DF), which TF.js runs only with "
          "@tensorflow/tfjs-tfdf")
    return 0
