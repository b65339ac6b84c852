"""The report as one self-contained HTML page: plots inline as base64 PNG (matplotlib, tfgl[bench]),
a table sortable by any column with a few lines of inline JavaScript; nothing fetched, so it reads
offline."""
from __future__ import annotations

import base64
import html
import io
import json

import numpy as np

from engine.conformance.report import REFERENCE_NAMES, ModelReport, Report
from engine.errors import TfglError

_STYLE = """body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
td.name{text-align:left;max-width:40em;overflow-wrap:anywhere}
th{background:#eee;cursor:pointer;position:sticky;top:0}tr.fail td{background:#fdd}.ok{color:#070}.bad{color:#b00}
img{max-width:48%;margin-right:1%}code{background:#f4f4f4;padding:0 3px}"""

# Clicking a header sorts its table by that column (numbers as numbers; again: the other way).
_SORT = """document.querySelectorAll('table.nodes th').forEach((th,i)=>th.onclick=()=>{
const body=th.closest('table').tBodies[0],up=th.dataset.up!=='1';th.dataset.up=up?'1':'0';
const key=r=>{const t=r.cells[i].dataset.v??r.cells[i].textContent,n=parseFloat(t);return isNaN(n)?t:n};
[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);return (x>y?1:x<y?-1:0)*(up?1:-1)})
 .forEach(r=>body.appendChild(r))});"""


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise TfglError("--html needs matplotlib for its plots: pip install 'tfgl[bench]'") from None


def write_html(report: Report, path: str) -> None:
    from engine.batch_io import staged
    page = render(report)
    with staged(path) as staging:
        with open(staging, "w", encoding="utf-8") as file:
            file.write(page)


def render(report: Report) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>tfgl conformance</title>"
             f"<style>{_STYLE}</style></head><body><h1>tfgl conformance</h1>",
             f"<p>Reference: {html.escape(report.reference)} ({html.escape(REFERENCE_NAMES[report.reference])}); "
             f"tolerance |value &minus; reference| &le; {report.tolerance.atol:g} + {report.tolerance.rtol:g}&middot;"
             f"max|reference| (the tensor's largest value); created {html.escape(report.created)}.</p>"]
    for model in report.models:
        parts.append(_model_section(model, report))
    parts.append(f"<script>{_SORT}</script></body></html>")
    return "".join(parts)


def _model_section(model: ModelReport, report: Report) -> str:
    backends = report.backends
    out = [f"<h2>{html.escape(model.model)}</h2><ul>"]
    for backend in backends:
        first = model.first_failure[backend]
        if first is None:
            out.append(f"<li class='ok'>{html.escape(backend)}: every node within tolerance</li>")
        else:
            row = model.row(first)
            result = row.results[backend]
            out.append(f"<li class='bad'>{html.escape(backend)}: first node out of tolerance: <code>"
                       f"{html.escape(first)}</code> ({html.escape(row.op)}, depth {row.depth}), max abs error "
                       f"{_number(result.max_abs_error)}, {result.mismatches} of {result.size} elements out</li>")
    if model.unreferenced:
        out.append(f"<li>{len(model.unreferenced)} tensor(s) without a reference value</li>")
    narrowed = model.float32_references() if report.reference == "cpu" else []
    if narrowed:
        ops = ", ".join(sorted({model.row(t).op for t in narrowed}))
        out.append(f"<li>{len(narrowed)} float tensor(s) whose reference kernel computed in float32 "
                   f"({html.escape(ops)})</li>")
    out.append("</ul>")
    out.append(_image(_depth_plot(model, report)) + _image(_ulp_plot(model, backends)))
    head = "".join(f"<th>{html.escape(b)} {k}</th>" for b in backends for k in ("abs err", "rel err", "ULPs", "ok"))
    out.append(f"<table class='nodes'><thead><tr><th>#</th><th>tensor</th><th>op</th><th>depth</th><th>shape</th>"
               f"{head}</tr></thead><tbody>")
    for index, row in enumerate(model.rows):
        cells = []
        failed = False
        for backend in backends:
            result = row.results.get(backend)
            if result is None:
                cells.append("<td>&ndash;</td>" * 4)
                continue
            failed |= not result.within_tolerance
            mark = "<td class='ok' data-v='1'>yes</td>" if result.within_tolerance else \
                "<td class='bad' data-v='0'>no</td>"
            cells.append(f"<td>{_number(result.max_abs_error)}</td><td>{_number(result.max_rel_error)}</td>"
                         f"<td>{result.max_ulps}</td>{mark}")
        out.append(f"<tr{' class=fail' if failed else ''}><td>{index}</td>"
                   f"<td class='name'>{html.escape(row.tensor)}</td>"
                   f"<td>{html.escape(row.op)}</td><td>{row.depth}</td><td data-v='{int(np.prod(row.shape))}'>"
                   f"{html.escape(json.dumps(row.shape))}</td>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _number(value: float) -> str:
    return f"{value:.3g}"


def _image(png: bytes) -> str:
    return f"<img alt='plot' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def _figure():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    return Figure(figsize=(6.4, 3.6), dpi=100)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _depth_plot(model: ModelReport, report: Report) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    for backend in report.backends:
        points = [(row.depth, max(row.results[backend].max_rel_error, 1e-9)) for row in model.rows
                  if row.dtype.startswith("float") and row.results.get(backend) is not None
                  and np.isfinite(row.results[backend].max_rel_error)]
        if points:
            depth, error = zip(*points)
            axes.scatter(depth, error, s=10, label=backend, alpha=0.7)
    axes.axhline(report.tolerance.rtol, color="grey", linestyle="--", linewidth=1, label="rtol")
    axes.set_yscale("log")
    axes.set_xlabel("node depth")
    axes.set_ylabel("max abs error / max|reference| (0 at 1e-9)")
    axes.set_title("error by node depth")
    axes.legend(fontsize=8)
    return _png(figure)


def _ulp_plot(model: ModelReport, backends: list[str]) -> bytes:
    figure = _figure()
    axes = figure.add_subplot()
    ulps = {b: [row.results[b].max_ulps for row in model.rows
                if row.results.get(b) is not None and row.dtype.startswith("float")] for b in backends}
    top = max((max(v) for v in ulps.values() if v), default=1)
    bins = np.concatenate([[0.25, 0.75], np.logspace(0, np.log10(max(top, 2)) + 0.01, 30)])
    for backend, values in ulps.items():
        if values:
            axes.hist(np.maximum(values, 0.5), bins=bins, histtype="step", label=backend, linewidth=1.5)
    axes.set_xscale("log")
    axes.set_xlabel("max float32 ULPs per node (0 drawn at 0.5)")
    axes.set_ylabel("nodes")
    axes.set_title("ULP histogram")
    axes.legend(fontsize=8)
    return _png(figure)
