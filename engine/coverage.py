"""Op coverage: for each TensorFlow op TF.js supports (op_targets.json, by category), whether each
tfgl backend runs it with its own kernel, through the CPU fallback, or not at all; and beside it
what TF.js's WebGL backend does with the op (tfjs_webgl.json, whose "about" says how it was derived),
so that ops TF.js computes on the GPU and tfgl's webgl backend does not stand out."""
from __future__ import annotations

import json
import os
from functools import cache

from engine.errors import TFDF_OPS
from engine.kernels import register_all  # noqa: F401  (the coverage of every registered kernel)
from engine.kernels.registry import BACKEND_NEUTRAL, EXECUTOR_OPS, get_kernel

TARGETS = os.path.join(os.path.dirname(__file__), "op_targets.json")
TFJS_WEBGL = os.path.join(os.path.dirname(__file__), "tfjs_webgl.json")
BACKENDS = ("cpu", "webgl")
# Categories of the table besides op_targets.json's: TF.js WebGL kernels whose ops TF.js's converter never emits.
WEBGL_ONLY = "tfjs_webgl_only"


def targets() -> dict[str, list[str]]:
    with open(TARGETS) as file:
        return json.load(file)


@cache
def _tfjs_webgl() -> dict[str, str]:
    """TensorFlow op -> 'GPU' or 'CPU', for the ops TF.js's WebGL backend computes."""
    with open(TFJS_WEBGL) as file:
        data = json.load(file)
    runs = {op: kernel["runs"] for kernel in data["kernels"].values() for op in kernel["ops"]}
    runs.update({op: entry["runs"] for op, entry in data["composed"].items()})
    return runs


def tfjs_webgl(op: str) -> str:
    """'GPU' or 'CPU' (where TF.js's WebGL backend computes the op), or 'absent' (no kernel there:
    TF.js's executor handles it, or TF.js lacks it)."""
    return _tfjs_webgl().get(op, "absent")


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


def _row(op: str) -> dict[str, str]:
    return {b: status(op, b) for b in BACKENDS}


def table() -> dict[str, dict[str, dict[str, str]]]:
    return {category: {op: _row(op) for op in ops} for category, ops in targets().items()}


def webgl_only_table() -> dict[str, dict[str, str]]:
    """TF.js WebGL kernels' ops outside TF.js's op list (Step, Diag, the gradients, ...)."""
    listed = {op for ops in targets().values() for op in ops}
    return {op: _row(op) for op in sorted(set(_tfjs_webgl()) - listed)}


def gpu_in_tfjs_only(*tables: dict[str, dict[str, str]]) -> list[str]:
    """The ops TF.js's WebGL backend computes on the GPU and tfgl's webgl backend does not."""
    return [op for rows in tables for op, row in rows.items()
            if tfjs_webgl(op) == "GPU" and row["webgl"] in ("cpu", "missing")]


def coverage_report(as_json: bool = False) -> int:
    data = table()
    extra = webgl_only_table()
    totals = {b: {} for b in BACKENDS}
    for ops in data.values():
        for per_backend in ops.values():
            for backend in BACKENDS:
                state = per_backend[backend]
                totals[backend][state] = totals[backend].get(state, 0) + 1
    behind = gpu_in_tfjs_only(*data.values(), extra)
    if as_json:
        column = {op: tfjs_webgl(op) for rows in (*data.values(), extra) for op in rows}
        print(json.dumps({"ops": data, WEBGL_ONLY: extra, "totals": totals, "tfjs_webgl": column,
                          "cpu_here_gpu_in_tfjs": behind}, indent=1))
        return 0
    for category, ops in [*data.items(), (f"{WEBGL_ONLY} (TF.js WebGL kernels outside its op list)", extra)]:
        print(f"{category}:")
        for op, row in ops.items():
            print(f"  {op:36s} cpu: {row['cpu']:8s} webgl: {row['webgl']:8s} tfjs-webgl: {tfjs_webgl(op)}")
    count = sum(len(ops) for ops in data.values())
    for backend, states in totals.items():
        parts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        print(f"{backend}: {count} ops: {parts}")
    webgl_states = {op: row["webgl"] for rows in (*data.values(), extra) for op, row in rows.items()}
    for state in ("cpu", "missing"):
        ops = [op for op in behind if webgl_states[op] == state]
        print(f"{state.upper() if state == 'cpu' else state} here, GPU in TF.js: {len(ops)} ops"
              + (f" ({', '.join(ops)})" if ops else ""))
    print("refused: the SimpleML* ops of TensorFlow Decision Forests (TF-DF), which TF.js runs only with "
          "@tensorflow/tfjs-tfdf")
    print("tfjs-webgl: where TF.js's WebGL backend computes the op (GPU, CPU), or absent (its executor handles it)")
    return 0
