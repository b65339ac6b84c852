"""The tfgl command line: run (inputs by any name, npz output), demo, errors as one line."""
import subprocess
import sys

import numpy as np
import pytest

from engine.cli import EXAMPLE_MODEL, main
from tests.conftest import fixture_path, on_a_thread_of_its_own


def test_help_lists_subcommands():
    result = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("convert", "run", "batch", "bench", "demo", "ops"):
        assert command in result.stdout


def test_run_writes_every_output_keyed_by_signature_key(tmp_path, backend):
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "n.npy", np.int32(2))
    out = tmp_path / "out.npz"
    # NAME may be a signature key (x) or a tensor name (n:0)
    assert main(["run", fixture_path("loop_cf2"), "--backend", backend, "--input", f"x={tmp_path / 'x.npy'}",
                 "--input", f"n:0={tmp_path / 'n.npy'}", "--output", str(out)]) == 0
    saved = np.load(out)
    assert set(saved.files) == {"result", "total"}
    assert saved["result"].shape == (3, 4) and saved["total"].shape == (3,)
    np.testing.assert_allclose(saved["total"], saved["result"].sum(axis=1), rtol=1e-5)


def test_run_single_input_and_summary(tmp_path, capsys):
    np.save(tmp_path / "image.npy", np.zeros((1, 24, 24, 3), np.float32))
    assert main(["run", EXAMPLE_MODEL, "--backend", "cpu", "--input", str(tmp_path / "image.npy")]) == 0
    printed = capsys.readouterr().out
    assert "output_0: shape [1, 5] float32" in printed


def test_errors_are_one_line_and_exit_nonzero(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing" / "model.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tfgl run: error:") and "not found" in err[0]
    np.save(tmp_path / "wrong.npy", np.zeros((2, 5), np.float32))
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    assert main(["run", fixture_path("loop_cf1"), "--backend", "cpu", "--input", f"x={tmp_path / 'x.npy'}",
                 "--input", f"n={tmp_path / 'wrong.npy'}"]) == 1
    assert "input 'n' must be int32" in capsys.readouterr().err
    np.save(tmp_path / "n.npy", np.int32(1))
    assert main(["run", fixture_path("loop_cf1"), "--backend", "cpu", "--input", f"x={tmp_path / 'wrong.npy'}",
                 "--input", f"n={tmp_path / 'n.npy'}"]) == 1
    assert "input 'x' must have shape [-1, 4]" in capsys.readouterr().err


def test_run_takes_json_inputs(tmp_path):
    """A .json input is a (nested) list of numbers or of strings (text models: tests/test_text_models.py)."""
    (tmp_path / "x.json").write_text("[[0.5, 1, 2, 3], [4, 5, 6, 7]]")
    (tmp_path / "n.json").write_text("2")
    out = tmp_path / "out.npz"
    assert main(["run", fixture_path("loop_cf1"), "--backend", "cpu", "--input", f"x={tmp_path / 'x.json'}",
                 "--input", f"n={tmp_path / 'n.json'}", "--output", str(out)]) == 0
    assert np.load(out)["result"].shape == (2, 4)


@pytest.mark.parametrize("text", ["[[1, 2], [3]]", '[1, "a"]', '{"x": 1}', "[null]", "[1,"])
def test_malformed_json_inputs_are_one_line_errors(tmp_path, capsys, text):
    (tmp_path / "x.json").write_text(text)
    assert main(["run", EXAMPLE_MODEL, "--backend", "cpu", "--input", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read input 'image'" in err[0]


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["--debug", "run", str(tmp_path / "nope.json")]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_demo_runs_the_shipped_example_on_every_backend(capsys):
    assert main(["demo", "--runs", "3"]) == 0
    printed = capsys.readouterr().out
    for backend in __import__("engine").available_backends():
        assert f"backend {backend}:" in printed
    assert printed.count("first call") == len(__import__("engine").available_backends())


@pytest.mark.parametrize("as_json", [False, True])
def test_ops_lists_status_per_backend(as_json, capsys):
    assert main(["ops"] + (["--json"] if as_json else [])) == 0
    printed = capsys.readouterr().out
    if as_json:
        import json
        data = json.loads(printed)
        assert data["ops"]["arithmetic"]["AddV2"] == {"cpu": "cpu", "webgl": "gl"}
        assert data["ops"]["graph"]["Identity"]["cpu"] == "neutral"
        assert data["ops"]["string"]["StringSplit"] == {"cpu": "cpu", "webgl": "cpu"}
        # every op of TF.js's list runs but TF-DF's, which are refused by name
        assert "missing" not in {state for totals in data["totals"].values() for state in totals}
        assert set(data["ops"]["tfdf"]) == {op for ops in data["ops"].values() for op, states in ops.items()
                                            if states["cpu"] == "refused"}
    else:
        assert "AddV2" in printed and "webgl:" in printed and "TF-DF" in printed


def test_bench_json_reports_compiles_and_latencies():
    """In a fresh process, so the first call really compiles."""
    import json

    import engine
    result = subprocess.run([sys.executable, "-m", "engine.cli", "bench", EXAMPLE_MODEL, "--runs", "5", "--json",
                             "--profile"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == set(engine.available_backends())
    keys = {"first_ms", "steady_median_ms", "steady_p90_ms", "programs_compiled_first",
            "programs_compiled_steady", "compile_ms", "texture_bytes", "draws_per_call", "host_us_per_op",
            "replayed", "replay_void_reason", "executor_host_us_per_op", "profile", "warmup_ms",
            "programs_compiled_warmup", "cold_first_ms", "warm_first_ms", "cold_warmup_ms", "warm_warmup_ms",
            "slowest_programs", "programs_loaded_first", "cold_programs", "warm_programs", "textures_evicted_steady",
            "programs_evicted_steady"}
    for result in data.values():
        assert set(result) == keys
        assert "Conv2D" in result["profile"] or "_FusedConv2D" in result["profile"]
        assert all(calls >= 1 and ms >= 0 for calls, ms in result["profile"].values())
        assert result["programs_compiled_steady"] == 0
        assert result["steady_median_ms"] > 0 and result["steady_p90_ms"] >= result["steady_median_ms"]
        assert result["cold_first_ms"] > 0 and result["warm_first_ms"] > 0
        assert result["warmup_ms"] is None and result["cold_warmup_ms"] is None  # no --warmup
    assert data["cpu"]["replay_void_reason"] == "the cpu backend does not record plans"
    if "webgl" in data:
        webgl = data["webgl"]
        assert webgl["programs_compiled_first"] + webgl["programs_loaded_first"] > 0 and webgl["compile_ms"] > 0
        # the fresh processes share a private cache: the warm one loads what the cold one compiled
        assert webgl["cold_programs"]["loaded"] == 0 and webgl["warm_programs"]["compiled"] == 0
        assert webgl["warm_programs"]["loaded"] == webgl["cold_programs"]["compiled"] > 0
        assert data["webgl"]["texture_bytes"] > 0
        assert data["webgl"]["replayed"] and data["webgl"]["draws_per_call"] > 0
        assert data["webgl"]["replay_void_reason"] is None
        assert data["webgl"]["host_us_per_op"] > 0
        assert data["webgl"]["textures_evicted_steady"] == 0  # the default pool holds what a call frees
        assert data["webgl"]["programs_evicted_steady"] == 0  # and 256 programs what a model links
        # the fresh cold process compiled everything: its ten slowest, slowest first
        slowest = data["webgl"]["slowest_programs"]
        assert len(slowest) == 10 and all(isinstance(name, str) and "->" in shapes for name, shapes, _ in slowest)
        assert [ms for _, _, ms in slowest] == sorted((ms for _, _, ms in slowest), reverse=True)
        # a warm process's first call reads compiled shaders from the driver's disk cache
        assert data["webgl"]["warm_first_ms"] < data["webgl"]["cold_first_ms"]


def test_bench_warmup_prints_its_times_and_plots_the_timeline(tmp_path, webgl, capsys):
    plot = tmp_path / "timeline.png"
    assert main(["bench", EXAMPLE_MODEL, "--backend", webgl, "--runs", "3", "--warmup", "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "cold wu" in printed and "warm wu" in printed and "warmup" in printed
    assert "slowest programs to compile, webgl (cold process):" in printed
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def test_bench_plot_without_matplotlib_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert main(["bench", EXAMPLE_MODEL, "--backend", "cpu", "--plot", str(tmp_path / "t.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tfgl bench: error: --plot needs matplotlib: pip install 'tfgl[bench]'"]


def test_run_picks_the_layers_loader_from_the_format(tmp_path, backend):
    """A layers model (written by the official converter) through the same `tfgl run`."""
    from tests.fixtures import layers_sources
    inputs = layers_sources.inputs_for("cnn")
    np.save(tmp_path / "image.npy", inputs[0])
    out = tmp_path / "out.npz"
    assert main(["run", fixture_path("layers_cnn"), "--backend", backend, "--input", str(tmp_path / "image.npy"),
                 "--output", str(out)]) == 0
    import engine
    want = engine.load_layers_model(fixture_path("layers_cnn"), backend="cpu").predict(inputs[0])
    saved = np.load(out)
    assert len(saved.files) == 1
    np.testing.assert_allclose(saved[saved.files[0]], want, rtol=1e-5, atol=1e-6)


def test_bench_says_when_steady_calls_make_textures_and_programs_again_past_their_limits(webgl, monkeypatch):
    """Unreplayed calls free their textures into the pool and take them back, and bind every program of
    the model: a pool kept empty deletes textures between calls, a limit of one program all but one,
    and the bench says so."""
    import engine
    from engine.bench import benchmark, format_table
    monkeypatch.setenv("TFGL_TEXTURE_POOL_MB", "0")
    monkeypatch.setenv("TFGL_LINKED_PROGRAMS", "1")
    monkeypatch.setenv("TFGL_REPLAY", "0")
    result = on_a_thread_of_its_own(lambda: benchmark(engine.load_model(EXAMPLE_MODEL, backend=webgl), runs=3))
    assert result.textures_evicted_steady > 0 and result.programs_evicted_steady > 0
    table = format_table({webgl: result})
    assert "past the free-texture limit" in table and "past the linked-program limit" in table
