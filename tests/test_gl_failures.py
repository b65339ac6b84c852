"""GL failures: no context means the CPU backend after one warning; a GL error surfaces as a
GLError (after every program with TFGL_DEBUG, at every download always), never as silent garbage."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import engine
from engine.errors import GLError
from engine.tensors import Tensor
from tests.conftest import check_gl_error, fixture_path

pytestmark = pytest.mark.webgl


@pytest.mark.parametrize("env", [{"TFGL_GL_CONTEXT": "nonsense"}, {"TFGL_GL_CONTEXT": "egl", "TFGL_GL_DEVICE": "97"}])
def test_a_failed_context_falls_back_to_the_cpu_with_a_warning(env, webgl):
    script = textwrap.dedent(f"""
        import warnings, numpy as np, engine
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = engine.load_graph_model({fixture_path("small_cnn")!r})
            out = model.predict(np.zeros((1, 24, 24, 3), np.float32))
        print(model.backend.name, out.shape, engine.available_backends())
        print([str(w.message) for w in caught if "OpenGL" in str(w.message)])
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, **env})
    assert result.returncode == 0, result.stderr
    backend, warning = result.stdout.strip().splitlines()
    assert backend.startswith("cpu (1, ") and "['cpu']" in backend
    assert "no OpenGL context" in warning and "using the CPU backend" in warning


def _poison(backend):
    """A real GL error: glActiveTexture with a unit no driver has (GL_INVALID_ENUM)."""
    with backend.current():
        texture = backend.textures.acquire(1, 1)
        texture.use(location=100000)
        backend.textures.release(texture)


def test_gl_errors_surface_at_the_next_download(webgl, rng):
    backend = engine.backends.webgl.backend_for_thread()
    x = Tensor(rng.normal(size=(64, 64)).astype(np.float32), "float32")
    [y] = backend.run("Relu", [x])
    _poison(backend)
    with pytest.raises(GLError, match="OpenGL error GL_INVALID_ENUM after download"):
        y.numpy()
    check_gl_error("the failed download")  # reading the error cleared it: the next run is clean
    [z] = backend.run("Relu", [x])
    np.testing.assert_array_equal(z.numpy(), np.maximum(x.numpy(), 0))


def test_debug_mode_checks_after_every_program(webgl, rng, monkeypatch):
    backend = engine.backends.webgl.backend_for_thread()
    monkeypatch.setattr(backend, "debug", True)
    x = Tensor(rng.normal(size=(64, 64)).astype(np.float32), "float32")
    backend.texture_of(x)
    _poison(backend)
    with pytest.raises(GLError, match="after Relu"):
        backend.run("Relu", [x])
