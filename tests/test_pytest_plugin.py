"""tfgl's pytest plugin (engine/pytest_plugin.py) as a user meets it: a test file in another folder,
run by pytest in a new process that finds the plugin through its entry point."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from engine.pytest_plugin import Regression, compare
from tests.conftest import BACKENDS

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "engine", "examples", "small_cnn")

USER_TESTS = '''
import numpy as np

def test_outputs_stable(tfgl_backend, tfgl_load, tfgl_regression):
    model = tfgl_load("web_model/model.json")
    x = np.random.default_rng(0).random((2, 24, 24, 3), dtype=np.float32) * SCALE
    tfgl_regression.check(model.predict(x), rtol=1e-2 if tfgl_backend == "webgl-fp16" else 1e-4)

def test_backend_name(tfgl_backend):
    assert tfgl_backend in ("cpu", "webgl", "webgl-fp16")
'''


@pytest.fixture
def user_repo(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "web_model")
    (tmp_path / "test_model.py").write_text(USER_TESTS.replace("SCALE", "1.0"))
    return tmp_path


def run_pytest(folder, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300)


def test_a_missing_snapshot_fails_and_says_how_to_write_it_then_every_backend_checks_it(user_repo):
    first = run_pytest(user_repo)
    assert first.returncode == 1, first.stdout
    assert "no snapshot" in first.stdout and "--tfgl-regen" in first.stdout
    assert first.stdout.count("test_outputs_stable[") >= len(BACKENDS)

    regen = run_pytest(user_repo, "--tfgl-regen")
    assert regen.returncode == 0, regen.stdout
    snapshot = user_repo / "__snapshots__" / "test_model" / "test_outputs_stable.npz"
    with np.load(snapshot) as stored:
        assert stored.files == ["0/output"] and stored["0/output"].shape == (2, 5)

    again = run_pytest(user_repo, "-rA")
    assert again.returncode == 0, again.stdout
    # The default is every available backend, a phone's half-float storage included.
    for backend in BACKENDS + (["webgl-fp16"] if "webgl" in BACKENDS else []):
        assert f"PASSED test_model.py::test_outputs_stable[{backend}]" in again.stdout
        assert f"PASSED test_model.py::test_backend_name[{backend}]" in again.stdout


def test_a_changed_output_names_its_worst_element(user_repo):
    assert run_pytest(user_repo, "--tfgl-regen").returncode == 0
    (user_repo / "test_model.py").write_text(USER_TESTS.replace("SCALE", "1.5"))
    result = run_pytest(user_repo, "--tfgl-backends", "cpu")
    assert result.returncode == 1
    assert "output 'output'" in result.stdout and "the worst at index (" in result.stdout
    assert "abs error" in result.stdout and "on cpu, check #1" in result.stdout


def test_backends_are_chosen_on_the_command_line(user_repo):
    result = run_pytest(user_repo, "--tfgl-backends", "cpu", "-rA", "-k", "backend_name")
    assert result.returncode == 0 and "PASSED test_model.py::test_backend_name[cpu]" in result.stdout
    assert "[webgl]" not in result.stdout
    wrong = run_pytest(user_repo, "--tfgl-backends", "cuda")
    assert wrong.returncode != 0 and "'cuda' is not available on this machine" in wrong.stderr


def test_a_gl_error_left_by_a_test_fails_it(tmp_path, webgl):
    (tmp_path / "test_gl.py").write_text(
        "import engine\n\n"
        "def test_leaves_an_error(tfgl_backend):\n"
        "    gl = engine.backends.webgl.backend_for_thread()\n"
        "    with gl.current():\n"
        "        gl.ctx.enable_direct(0xFFFF)  # glEnable of no capability: GL_INVALID_ENUM\n")
    result = run_pytest(tmp_path, "--tfgl-backends", "webgl")
    assert result.returncode == 1 and "GL_INVALID_ENUM" in result.stdout, result.stdout


def test_comparison_reports_the_worst_element_and_treats_nan_as_a_value():
    want = np.array([[1.0, np.nan], [np.inf, 4.0]], np.float32)
    assert compare({"y": want.copy()}, {"y": want}, 1e-4, 0) is None
    got = want.copy()
    got[1, 1], got[0, 0] = 4.1, 1.00001
    message = compare({"y": got}, {"y": want}, 1e-4, 0)
    assert "1 of 4 elements" in message and "index (1, 1)" in message and "rel error 0.025" in message
    got[0, 1] = 0.0
    assert "index (0, 1)" in compare({"y": got}, {"y": want}, 1e-4, 0)
    assert "shape [2]" in compare({"y": np.zeros(2)}, {"y": want}, 1e-4, 0)
    assert "differ" in compare({"i": np.array([1, 2])}, {"i": np.array([1, 3])}, 1e-4, 0)
    assert "snapshot has ['y']" in compare({"z": want}, {"y": want}, 1e-4, 0)


def test_snapshots_are_written_whole(tmp_path):
    path = tmp_path / "s" / "t.npz"
    writer = Regression(path, "cpu", writes=True)
    writer.check({"a": np.arange(3)})
    writer.check([np.array(["x", "y"], dtype=object)])
    with np.load(path) as stored:
        assert sorted(stored.files) == ["0/a", "1/output_0"]
        assert stored["1/output_0"].tolist() == [b"x", b"y"]
    assert os.listdir(path.parent) == ["t.npz"]
    reader = Regression(path, "webgl", writes=False)
    reader.check({"a": np.arange(3)})
    reader.check([np.array([b"x", b"y"], dtype=object)])
