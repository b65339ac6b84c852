"""The shader disk cache under $TFGL_CACHE/shaders: a fresh process fills it and the next one hits it
with bit-identical outputs; a user's own driver settings and TFGL_PROGRAM_CACHE=0 are respected; an
unusable folder means one warning and right answers; `tfgl cache info|clear` and `tfgl bench
--cold|--no-cache`.

Drivers read their cache variables once, at a process's first GL context, and this test process has
made its own already: every case that runs the model does it in a fresh subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.cli import EXAMPLE_MODEL, main
from engine.errors import TfglError
from engine.webgl import shader_cache

ROOT = Path(__file__).resolve().parent.parent

# Predicts the example model on the WebGL backend twice (the second call replayed), saves both outputs,
# and prints the cache variables the process ended up with, the warnings it saw, its compile time (the
# driver's JIT at first draws included) and where its programs came from (tests/test_program_cache.py).
PREDICT = """
import json, os, sys, warnings
import numpy as np
import engine
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = engine.load_graph_model(sys.argv[1], backend="webgl")
    assert model.backend.name == "webgl", "no WebGL backend in the subprocess"
    x = np.random.default_rng(0).standard_normal((1,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
    np.save(sys.argv[2], model.predict(x))
    np.save(sys.argv[2] + ".again.npy", model.predict(x))
stats = model.backend.stats
names = [name for driver in engine.webgl.shader_cache.DRIVERS for name in driver.names]
print(json.dumps({"environ": {name: os.environ.get(name) for name in names},
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
                  "compile_ms": stats.compile_ms, "compiled": stats.programs_compiled,
                  "loaded": stats.programs_loaded}))
"""


def fresh_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment with an empty $TFGL_CACHE and none of the driver cache variables
    (this process's own tfgl set them), Mesa's default cache folder inside tmp_path too."""
    env = dict(os.environ)
    shader_cache.use_private_folder(str(tmp_path / "cache"), env)
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env.update(extra)
    return env


def predict(env: dict[str, str], out: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", PREDICT, EXAMPLE_MODEL, str(out)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def expected_output() -> np.ndarray:
    model = engine.load_graph_model(EXAMPLE_MODEL, backend="cpu")
    x = np.random.default_rng(0).standard_normal((1,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
    return model.predict(x)


def is_mesa() -> bool:
    return "Mesa" in engine.backends.webgl.backend_for_thread().ctx.info["GL_VERSION"]


def test_second_process_hits_what_the_first_wrote(tmp_path, webgl):
    env = fresh_environment(tmp_path)
    shaders = tmp_path / "cache" / "shaders"
    first = predict(env, tmp_path / "first.npy")
    written = files_under(shaders)
    assert written, "the first process wrote no compiled shaders"
    assert first["environ"]["MESA_SHADER_CACHE_DIR"] == str(shaders / "mesa")
    assert first["environ"]["__GL_SHADER_DISK_CACHE_PATH"] == str(shaders / "nvidia")
    if is_mesa():
        assert any(name.startswith("mesa/mesa_shader_cache/") for name in written)
    assert not files_under(tmp_path / "xdg"), "Mesa wrote to its default folder too"
    second = predict(env, tmp_path / "second.npy")
    assert files_under(shaders) == written, "the second process compiled shaders the first had cached"
    # Mesa skips writing an entry that exists, so equal files alone do not prove hits: time does
    # (about 750 ms cold against 40 ms warm on llvmpipe; 3x leaves room for a busy machine).
    assert second["compile_ms"] * 3 < first["compile_ms"], (first["compile_ms"], second["compile_ms"])
    first_output, second_output = np.load(tmp_path / "first.npy"), np.load(tmp_path / "second.npy")
    assert first_output.tobytes() == second_output.tobytes()
    np.testing.assert_allclose(first_output, expected_output(), rtol=1e-4, atol=1e-5)


def test_users_own_mesa_folder_wins(tmp_path, webgl):
    mine = tmp_path / "mine"
    report = predict(fresh_environment(tmp_path, MESA_SHADER_CACHE_DIR=str(mine), MESA_SHADER_CACHE_MAX_SIZE="64M"),
                     tmp_path / "out.npy")
    assert report["environ"]["MESA_SHADER_CACHE_DIR"] == str(mine)
    assert report["environ"]["MESA_SHADER_CACHE_MAX_SIZE"] == "64M"
    assert report["environ"]["__GL_SHADER_DISK_CACHE_PATH"] is not None  # the other driver's is still tfgl's
    assert not files_under(tmp_path / "cache" / "shaders" / "mesa")
    if is_mesa():
        assert files_under(mine)


def test_program_cache_off_leaves_the_drivers_alone(tmp_path, webgl):
    report = predict(fresh_environment(tmp_path, TFGL_PROGRAM_CACHE="0"), tmp_path / "out.npy")
    assert all(value is None for value in report["environ"].values()), report["environ"]
    assert not (tmp_path / "cache").exists()
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected_output(), rtol=1e-4, atol=1e-5)


def test_unusable_folder_warns_once_and_predicts_right(tmp_path, webgl):
    """A folder tfgl cannot write (here a path under a regular file: CI runs as root, which writes into
    read-only folders, so a chmod'ed one would test nothing) gets the write probe's one warning."""
    (tmp_path / "blocker").write_text("not a folder")
    root = tmp_path / "blocker" / "cache"
    report = predict(fresh_environment(tmp_path, TFGL_CACHE=str(root)), tmp_path / "out.npy")
    about_cache = [w for w in report["warnings"] if "shader cache" in w]
    assert len(about_cache) == 1 and about_cache[0].startswith("RuntimeWarning")
    assert str(root / "shaders") in about_cache[0]
    assert all(value is None for value in report["environ"].values()), report["environ"]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected_output(), rtol=1e-4, atol=1e-5)


def test_cli_info_reports_and_clear_keeps_the_rest_of_tfgl_cache(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    entry = root / "shaders" / "mesa" / "mesa_shader_cache" / "ab"
    entry.mkdir(parents=True)
    (entry / "cdef").write_bytes(b"x" * 100)
    (root / "shaders" / "nvidia").mkdir()
    (root / "shaders" / "nvidia" / "blob").write_bytes(b"y" * 50)
    downloads = root / "npm" / "pkg@1.0.0"
    downloads.mkdir(parents=True)
    (downloads / "model.json").write_text("{}")
    (root / "shaders" / "mesa" / "out").symlink_to(root / "npm")  # clear must not follow it
    monkeypatch.setenv("TFGL_CACHE", str(root))
    monkeypatch.setenv("TFGL_CACHE_MAX_MB", "256")

    assert main(["cache", "info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["path"] == str(root / "shaders") and report["enabled"] and report["limit_bytes"] == 256 * 2**20
    assert report["subfolders"]["mesa"] == {"bytes": 100 + len(str(root / "npm")), "entries": 2}
    assert report["subfolders"]["nvidia"] == {"bytes": 50, "entries": 1}
    assert report["total"]["entries"] == 3

    assert main(["cache", "info"]) == 0
    assert "mesa" in capsys.readouterr().out

    assert main(["cache", "clear"]) == 0
    assert "3 files" in capsys.readouterr().out
    assert (root / "shaders").is_dir() and not any((root / "shaders").iterdir())
    assert (downloads / "model.json").read_text() == "{}"


def test_clear_refuses_a_linked_shader_folder(tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("mine")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "shaders").symlink_to(elsewhere)
    monkeypatch.setenv("TFGL_CACHE", str(tmp_path / "cache"))
    assert main(["cache", "clear"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tfgl cache: error:") and "symbolic link" in err[0]
    assert (elsewhere / "keep").read_text() == "mine"


@pytest.mark.parametrize("mode", ["", "--cold", "--no-cache"])
def test_bench_cache_modes(tmp_path, webgl, mode):
    """Default: the user's cache fills. --cold: a private one (nothing lands in the user's, nor in
    Mesa's default folder). --no-cache: no disk cache anywhere."""
    env = fresh_environment(tmp_path)
    result = subprocess.run([sys.executable, "-m", "engine.cli", "bench", EXAMPLE_MODEL, "--backend", "webgl",
                             "--runs", "1", *([mode] if mode else [])], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {"": "shader cache on", "--cold": "shader cache cold", "--no-cache": "shader cache off"}[mode] \
        in result.stdout
    assert bool(files_under(tmp_path / "cache")) == (mode == "")
    if is_mesa():
        assert not files_under(tmp_path / "xdg")


def test_driver_variables_respect_each_user_setting(tmp_path):
    folder = tmp_path / "shaders"
    assert shader_cache.driver_variables(folder, 512, {}) == {
        "MESA_SHADER_CACHE_DIR": str(folder / "mesa"), "MESA_SHADER_CACHE_MAX_SIZE": "512M",
        "__GL_SHADER_DISK_CACHE": "1", "__GL_SHADER_DISK_CACHE_PATH": str(folder / "nvidia"),
        "__GL_SHADER_DISK_CACHE_SIZE": str(512 * 2**20)}
    # a folder under the old name makes Mesa's cache the user's; a size alone keeps the folder tfgl's
    assert set(shader_cache.driver_variables(folder, 512, {"MESA_GLSL_CACHE_DIR": "/x"})) == {
        "__GL_SHADER_DISK_CACHE", "__GL_SHADER_DISK_CACHE_PATH", "__GL_SHADER_DISK_CACHE_SIZE"}
    assert "MESA_SHADER_CACHE_MAX_SIZE" not in shader_cache.driver_variables(
        folder, 512, {"MESA_GLSL_CACHE_MAX_SIZE": "2G"})
    assert "__GL_SHADER_DISK_CACHE" not in shader_cache.driver_variables(folder, 512, {"__GL_SHADER_DISK_CACHE": "0"})


def test_limit_and_switch_parsing():
    assert shader_cache.limit_mb({}) == shader_cache.DEFAULT_LIMIT_MB
    assert shader_cache.limit_mb({"TFGL_CACHE_MAX_MB": "64"}) == 64
    with pytest.warns(RuntimeWarning, match="TFGL_CACHE_MAX_MB must be a positive whole number"):
        assert shader_cache.limit_mb({"TFGL_CACHE_MAX_MB": "1G"}) == shader_cache.DEFAULT_LIMIT_MB
    assert not shader_cache.enabled({"TFGL_PROGRAM_CACHE": "off"}) and shader_cache.enabled({})


def test_switch_off_and_private_folder_rewrite_an_environment():
    env = {"TFGL_PROGRAM_CACHE": "0", "MESA_SHADER_CACHE_DIR": "/mine", "MESA_SHADER_CACHE_DISABLE": "1",
           "PATH": "/bin"}
    shader_cache.use_private_folder("/tmp/private", env)
    assert env == {"TFGL_CACHE": "/tmp/private", "PATH": "/bin"}
    shader_cache.switch_off(env)
    assert env["TFGL_PROGRAM_CACHE"] == "0" and env["MESA_SHADER_CACHE_DISABLE"] == "true"
    assert env["__GL_SHADER_DISK_CACHE"] == "0"


def test_changing_the_cache_after_the_first_context_is_a_clear_error(webgl):
    with pytest.raises(TfglError, match="already made a GL context"):
        shader_cache.switch_off()
