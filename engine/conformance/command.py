"""`tfgl conformance`: reads the models and inputs, builds the report, prints its summary and writes
the JSON and HTML files."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from engine.conformance.compare import Tolerance
from engine.conformance.report import ModelReport, Report, json_safe, model_report
from engine.errors import InputError


def run(args: argparse.Namespace) -> int:
    import engine
    backends = [b for b in (args.backends.split(",") if args.backends else engine.available_backends()) if b]
    if not (args.atol >= 0 and args.rtol >= 0):
        raise InputError("--atol and --rtol must be zero or more")
    tolerance = Tolerance(args.atol, args.rtol)
    if args.kernels:
        from engine.conformance.kernels import format_table, kernel_table
        table = kernel_table(backends, tolerance, progress=not args.quiet)
        print(format_table(table, backends))
        if args.json:
            _write_json(args.json, {"tool": "tfgl conformance --kernels", "backends": backends, "ops": table})
        return 0 if all(all(r["passed"] for r in per_backend.values()) for per_backend in table.values()) else 1
    if not args.models:
        raise InputError("give one or more MODEL.json paths, or --kernels")
    if args.html:
        from engine.conformance.html import require_matplotlib
        require_matplotlib()
    supplied = _read_npz(args.inputs) if args.inputs else None
    reports = []
    for location in args.models:
        model = engine.load_model(location, backend="cpu", progress=not args.quiet)
        if not isinstance(model, engine.GraphModel):
            raise InputError(f"{location}: tfgl conformance reports on graph models; this is a layers model")
        inputs = model_inputs(model, supplied)
        reports.append(model_report(model, location, inputs, backends, args.reference, tolerance,
                                    progress=not args.quiet))
        print(summary(reports[-1], backends, args.reference))
    report = Report(args.reference, backends, tolerance, reports)
    if args.json:
        _write_json(args.json, report.as_dict())
        print(f"wrote {args.json}", file=sys.stderr)
    if args.html:
        from engine.conformance.html import write_html
        write_html(report, args.html)
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def _read_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read --inputs {path}: {error}") from None


def model_inputs(model, supplied: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """The inputs by input name: from --inputs (keyed by signature key, node or tensor name), else
    random ones of the signature's shapes (unknown dimensions 1), the same on every run."""
    from engine.graph.model import random_array
    rng = np.random.default_rng(0)
    inputs = {}
    for info in model.inputs:
        if supplied is None:
            inputs[info.name] = random_array(rng, tuple(1 if d is None else d for d in (info.shape or ())), info.dtype)
            continue
        key = next((k for k in (info.name, info.tensor, info.key[0]) if k in supplied), None)
        if key is None:
            raise InputError(f"--inputs has no array for input {info.name!r} (has: {', '.join(supplied) or 'none'})")
        inputs[info.name] = np.asarray(supplied[key]).astype(info.dtype, copy=False)
    return inputs


def summary(report: ModelReport, backends: list[str], reference: str) -> str:
    lines = [f"{report.model}: {len(report.rows)} tensors"]
    for backend in backends:
        results = [(row, row.results[backend]) for row in report.rows if row.results.get(backend) is not None]
        worst = max(results, key=lambda pair: pair[1].max_ulps, default=None)
        worst_text = f"; worst {worst[1].max_ulps} ULPs at {worst[0].tensor}" if worst else ""
        first = report.first_failure[backend]
        if first is None:
            lines.append(f"  {backend}: all {len(results)} within tolerance{worst_text}")
            continue
        row = report.row(first)
        result = row.results[backend]
        lines.append(f"  {backend}: FIRST OUT OF TOLERANCE: {first} ({row.op}, depth {row.depth}): max abs error "
                     f"{result.max_abs_error:.3g}, max rel {result.max_rel_error:.3g}, {result.max_ulps} ULPs, "
                     f"{result.mismatches}/{result.size} elements out{worst_text}")
    if report.unreferenced:
        lines.append(f"  {len(report.unreferenced)} tensor(s) have no reference value")
    narrowed = report.float32_references() if reference == "cpu" else []
    if narrowed:
        lines.append(f"  {len(narrowed)} float tensor(s) whose reference kernel computed in float32 "
                     f"(reference_dtype float32: {', '.join(sorted({report.row(t).op for t in narrowed}))})")
    return "\n".join(lines)


def _write_json(path: str, data: dict) -> None:
    from engine.batch_io import staged
    with staged(path) as staging:
        with open(staging, "w", encoding="utf-8") as file:
            json.dump(json_safe(data), file, indent=1)
