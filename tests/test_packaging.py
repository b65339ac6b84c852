"""Packaging: `import engine` needs only numpy, and the wheel ships the GLSL and the example model."""
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_engine_imports_and_runs_with_numpy_only():
    """TensorFlow, moderngl, glfw, requests and tqdm made unimportable: the CPU backend still runs."""
    code = """
import sys
for name in ("tensorflow", "moderngl", "glfw", "requests", "tqdm", "keras", "h5py"):
    sys.modules[name] = None
import warnings
warnings.simplefilter("error")
import numpy as np
import engine
from engine.cli import EXAMPLE_MODEL
model = engine.load_graph_model(EXAMPLE_MODEL, backend="cpu")
print(model.predict(np.zeros((1, 24, 24, 3), np.float32)).shape)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 5)"


def test_no_gl_context_warns_once_and_uses_the_cpu():
    code = """
import warnings, numpy as np
import engine
from engine.cli import EXAMPLE_MODEL
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    backends = engine.available_backends()
    model = engine.load_graph_model(EXAMPLE_MODEL)
    model.predict(np.zeros((1, 24, 24, 3), np.float32))
    engine.available_backends()
print(backends, model.backend.name, len([w for w in caught if "no OpenGL context" in str(w.message)]))
"""
    env = dict(os.environ, TFGL_GL_DEVICE="999")  # no such EGL device
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['cpu'] cpu 1"


@pytest.mark.slow
def test_wheel_contains_shaders_and_example(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), ROOT], check=True, capture_output=True)
    wheel = next(tmp_path.glob("tfgl-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    glsl = [n for n in names if n.endswith(".glsl")]
    on_disk = [os.path.relpath(os.path.join(d, f), ROOT) for d, _, files in os.walk(os.path.join(ROOT, "shaders"))
               for f in files if f.endswith(".glsl")]
    assert sorted(glsl) == sorted(p.replace(os.sep, "/") for p in on_disk)
    assert "engine/examples/small_cnn/model.json" in names and "engine/op_targets.json" in names
    assert "engine/tfjs_webgl.json" in names  # tfgl ops reads it
    assert {"engine/conformance/kernel_cases.py", "engine/conformance/tfjs_nodes.js"} <= set(names)
    assert any(n.startswith("converter/") for n in names)
    assert not any(n.startswith("tests/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    declared = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "tfgl = engine.cli:main" in declared
    assert "[pytest11]" in declared and "tfgl = engine.pytest_plugin" in declared  # pytest finds the plugin
