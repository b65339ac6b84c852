"""`tfgl conformance`: every node of a model against a reference, the first node out of tolerance,
the JSON and HTML reports, and the shipped kernel cases on this machine's GL driver."""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.cli import EXAMPLE_MODEL, main
from engine.conformance import html as html_report
from engine.conformance.capture import loop_frame_nodes
from engine.conformance.compare import Tolerance, compare, ulp_distance
from engine.conformance.kernel_cases import CASES
from engine.conformance.references import reference_values
from engine.conformance.report import Report, model_report
from engine.errors import InputError, TfglError
from engine.kernels import registry
from engine.tensors import Tensor
from tests.conftest import fixture_path

RELU = "StatefulPartitionedCall/small_cnn_1/relu1_1/Relu"


def small_cnn():
    model = engine.load_model(EXAMPLE_MODEL, backend="cpu")
    x = np.random.default_rng(0).standard_normal((1, *model.inputs[0].shape[1:])).astype(np.float32)
    return model, {model.inputs[0].name: x}


@pytest.fixture
def broken_gl_relu(monkeypatch, webgl):
    """The GL Relu kernel adds 1e-2 to every output element."""
    kernel = registry.get_kernel("Relu", "webgl")

    def off_by_a_bit(backend, x):
        return backend.run("AddV2", [kernel.fn(backend, x), Tensor(np.float32(1e-2), "float32")])[0]
    monkeypatch.setitem(registry._REGISTRY, ("Relu", "webgl"), dataclasses.replace(kernel, fn=off_by_a_bit))


# -- errors and ULPs ----------------------------------------------------------------------------------
def test_ulp_distance_counts_float32_steps_across_zero():
    one = np.float32(1.0)
    assert ulp_distance(np.array([np.nextafter(one, np.float32(2))]), np.array([one]))[0] == 1
    assert ulp_distance(np.array([-0.0]), np.array([0.0]))[0] == 0
    tiny = np.float32(1e-45)  # the smallest subnormal: -tiny, -0 = +0, +tiny
    assert ulp_distance(np.array([-tiny]), np.array([tiny]))[0] == 2


def test_compare_flags_what_leaves_tolerance():
    """The bound, atol + rtol * max|reference|, is 0.1001 here."""
    reference = np.array([1.0, 100.0, 0.0, np.inf, np.nan])
    close = compare(np.array([1.09, 100.05, 5e-5, np.inf, np.nan], np.float32), reference, Tolerance(1e-4, 1e-3))
    assert close.within_tolerance and close.nonfinite_mismatches == 0
    assert close.max_abs_error == pytest.approx(0.09, rel=1e-5)
    assert close.max_rel_error == pytest.approx(0.09 / 100, rel=1e-5)
    far = compare(np.array([1.11, 100.0, 0.0, -np.inf, 0.0], np.float32), reference, Tolerance(1e-4, 1e-3))
    assert not far.within_tolerance and far.mismatches == 3 and far.nonfinite_mismatches == 2
    assert compare(np.array([1, 2, 3], np.int32), np.array([1, 2, 4], np.int32), Tolerance()).mismatches == 1
    assert "shape" in compare(np.zeros(3, np.float32), np.zeros(4), Tolerance()).note


# -- model reports ------------------------------------------------------------------------------------
def test_json_report_has_every_node_with_small_finite_errors(tmp_path, webgl):
    path = tmp_path / "report.json"
    assert main(["conformance", EXAMPLE_MODEL, "--backends", "webgl,cpu", "--json", str(path), "--quiet"]) == 0
    report = json.loads(path.read_text())
    (model,) = report["models"]
    graph = engine.load_model(EXAMPLE_MODEL, backend="cpu").graph
    computed = {name for name, node in graph.nodes.items() if node.op not in ("Const", "Placeholder")}
    assert {row["node"] for row in model["tensors"]} == computed
    assert model["first_failure"] == {"webgl": None, "cpu": None} and model["unreferenced"] == []
    for row in model["tensors"]:
        for backend in ("webgl", "cpu"):
            result = row["results"][backend]
            assert result["within_tolerance"] and 0 <= result["max_abs_error"] < 1e-5, (row["tensor"], backend)
    floats = [row for row in model["tensors"] if row["dtype"] == "float32"]
    assert all(row["reference_dtype"] == "float64" for row in floats)
    # the float32 CPU backend is measured against float64, not against itself
    assert max(row["results"]["cpu"]["max_abs_error"] for row in floats) > 0


def test_injected_fault_is_the_first_node_out_of_tolerance(broken_gl_relu, capsys):
    model, inputs = small_cnn()
    report = model_report(model, EXAMPLE_MODEL, inputs, ["webgl", "cpu"], "cpu", Tolerance())
    assert report.first_failure == {"webgl": RELU, "cpu": None}
    relu = report.row(RELU).results["webgl"]
    assert relu.max_abs_error == pytest.approx(1e-2, rel=1e-3) and relu.mismatches == relu.size
    assert main(["conformance", EXAMPLE_MODEL, "--backends", "webgl,cpu", "--quiet"]) == 0
    assert f"webgl: FIRST OUT OF TOLERANCE: {RELU} (Relu, depth 4)" in capsys.readouterr().out


def test_inputs_from_npz_and_clear_errors(tmp_path, capsys):
    model, inputs = small_cnn()
    np.savez(tmp_path / "x.npz", **inputs)
    out = tmp_path / "report.json"
    assert main(["conformance", EXAMPLE_MODEL, "--backends", "cpu", "--inputs", str(tmp_path / "x.npz"),
                 "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["models"][0]["inputs"] == {model.inputs[0].name: list(inputs["image"].shape)}
    np.savez(tmp_path / "other.npz", something=inputs["image"])
    cases = [([EXAMPLE_MODEL, "--inputs", str(tmp_path / "other.npz")], "--inputs has no array for input 'image'"),
             ([fixture_path("layers_cnn")], "reports on graph models"),
             ([], "give one or more MODEL.json"),
             ([EXAMPLE_MODEL, "--backends", "tpu"], "unknown backend 'tpu'"),
             ([EXAMPLE_MODEL, "--rtol", "nan"], "--atol and --rtol must be zero or more")]
    for arguments, message in cases:
        assert main(["conformance", *arguments, "--quiet"]) == 1
        assert message in capsys.readouterr().err


def test_html_without_matplotlib_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["conformance", EXAMPLE_MODEL, "--backends", "cpu", "--html", str(tmp_path / "r.html"), "--quiet"]) == 1
    assert "--html needs matplotlib for its plots: pip install 'tfgl[bench]'" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_missing_tensorflow_is_a_clear_error(monkeypatch):
    model, inputs = small_cnn()
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(TfglError, match=r"needs TensorFlow: pip install 'tfgl\[converter\]'"):
        reference_values("tf", model, EXAMPLE_MODEL, inputs, ["Identity"])


def test_missing_tfjs_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TFGL_CACHE", str(tmp_path))
    monkeypatch.delenv("TFGL_TFJS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    model, inputs = small_cnn()
    with pytest.raises(TfglError, match="needs node and @tensorflow/tfjs"):
        reference_values("tfjs", model, EXAMPLE_MODEL, inputs, ["Identity"])


def test_tf_and_tfjs_references_need_a_local_model_json():
    model, inputs = small_cnn()
    for reference in ("tf", "tfjs"):
        with pytest.raises(TfglError, match="give a local model.json path, not https://example.com/model.json"):
            reference_values(reference, model, "https://example.com/model.json", inputs, ["Identity"])


@pytest.mark.tf
def test_tensorflow_reference_gives_every_tensor():
    model, inputs = small_cnn()
    report = model_report(model, EXAMPLE_MODEL, inputs, ["cpu"], "tf", Tolerance())
    assert report.unreferenced == [] and report.first_failure == {"cpu": None}
    assert all(row.results["cpu"].max_abs_error < 1e-6 for row in report.rows)


@pytest.mark.node
def test_tfjs_reference_gives_every_tensor(monkeypatch):
    from tests.real import npm
    monkeypatch.setenv("TFGL_TFJS_DIR", str(npm.tfjs_dir()))
    model, inputs = small_cnn()
    report = model_report(model, EXAMPLE_MODEL, inputs, ["cpu"], "tfjs", Tolerance())
    assert report.unreferenced == [] and report.first_failure == {"cpu": None}
    assert all(row.results["cpu"].max_abs_error < 1e-6 for row in report.rows)


# -- the HTML page ------------------------------------------------------------------------------------
# Run after the page loads: the images' decoded widths, then the table sorted by '#' twice (descending).
_PROBE = """<script>window.addEventListener('load', () => {
  document.body.dataset.widths = [...document.images].map(i => i.naturalWidth).join(',');
  const index = document.querySelector('table.nodes th'); index.click(); index.click();
  document.body.dataset.first = document.querySelector('table.nodes tbody tr').cells[0].textContent;
});</script></body>"""


@pytest.mark.chromium
def test_html_report_renders_in_headless_chromium(tmp_path, broken_gl_relu):
    model, inputs = small_cnn()
    report = Report("cpu", ["webgl", "cpu"], Tolerance(),
                    [model_report(model, EXAMPLE_MODEL, inputs, ["webgl", "cpu"], "cpu", Tolerance())])
    page = html_report.render(report)
    assert "http" not in page.replace(EXAMPLE_MODEL, "")  # nothing fetched: reads offline
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", _PROBE))
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120).stdout
    rows = len(report.models[0].rows)
    assert len(re.findall(r"<tr[ >]", dom)) == rows + 1
    assert re.search(r'data-widths="(\d+),(\d+)"', dom) and "data-widths=\"0" not in dom
    assert f'data-first="{rows - 1}"' in dom
    assert f"first node out of tolerance: <code>{RELU}</code>" in dom


# -- kernel cases ----------------------------------------------------------------------------------------
def test_kernel_cases_cover_every_gl_op():
    gl_ops = {op for op, backend in registry._REGISTRY if backend == "webgl"}
    assert {case.op for case in CASES} == gl_ops


@pytest.mark.slow
def test_kernel_table_passes_but_for_a_broken_kernel(tmp_path, broken_gl_relu, capsys):
    """Every case passes on this driver (llvmpipe in CI) and both backends, but the broken GL Relu."""
    path = tmp_path / "kernels.json"
    assert main(["conformance", "--kernels", "--backends", "webgl,cpu", "--json", str(path), "--quiet"]) == 1
    table = json.loads(path.read_text())["ops"]
    failed = {(op, backend) for op, per in table.items() for backend, entry in per.items() if not entry["passed"]}
    assert failed == {("Relu", "webgl")}
    assert not any(entry["cpu_fallback"] for per in table.values() for entry in per.values())
    out = capsys.readouterr().out
    assert re.search(r"^Relu\s+FAIL\s+pass$", out, re.MULTILINE)
    assert "FAIL Relu on webgl: Relu: output 0:" in out


def test_kernel_table_refuses_an_unknown_backend():
    from engine.conformance.kernels import kernel_table
    with pytest.raises(InputError, match="unknown backend 'webgl-nope'"):
        kernel_table(["webgl-nope"], Tolerance())


@pytest.mark.tf
@pytest.mark.node
def test_references_leave_out_loop_frames_but_give_the_rest(monkeypatch):
    """A v1 while loop (and a scalar input): TensorFlow and TF.js give no single value for a tensor
    inside the loop frame; every other tensor has its reference."""
    from tests.real import npm
    monkeypatch.setenv("TFGL_TFJS_DIR", str(npm.tfjs_dir()))
    location = fixture_path("loop_cf1")
    model = engine.load_model(location, backend="cpu")
    inputs = {"n": np.int32(5), "x": np.arange(4, dtype=np.float32).reshape(1, 4)}
    in_loop = loop_frame_nodes(model)
    for reference in ("tf", "tfjs"):
        report = model_report(model, location, inputs, ["cpu"], reference, Tolerance())
        assert report.unreferenced and all(name.rsplit(":", 1)[0] in in_loop for name in report.unreferenced)
        outside = [row for row in report.rows if row.tensor not in report.unreferenced]
        assert {"Identity", "Identity_1"} <= {row.tensor for row in outside}
        assert all(row.results["cpu"].within_tolerance for row in outside)


def test_complex_values_compare_by_their_parts():
    from engine.conformance.compare import Tolerance, compare
    reference = np.array([1 + 2j, 3 - 1j], np.complex128)
    assert compare(reference.astype(np.complex64), reference, Tolerance()).within_tolerance
    moved = reference.astype(np.complex64) + np.complex64(0.5j)
    result = compare(moved, reference, Tolerance())
    assert not result.within_tolerance and result.max_abs_error == pytest.approx(0.5)
