import contextlib
import gc
import os
import threading

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Ray's driver installs a handler for fatal signals that stays after ray.shutdown() and writes into a
# closed log: a native crash in a later test would end the run without faulthandler's traceback.
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")

import engine  # noqa: E402

BACKENDS = engine.available_backends()
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def pytest_configure(config):
    """tfgl's own tests hold float32 tolerances: by default they run on the float32 backends, not on
    every one the plugin would pick (webgl-fp16 too); --tfgl-backends names others."""
    if config.getoption("tfgl_backends") is None:
        config.option.tfgl_backends = ",".join(BACKENDS)


def check_gl_error(where: str) -> None:
    """Raises GLError if this thread's WebGL context has a GL error set (reading it clears it)."""
    engine.backends.webgl.check_thread_error(where)


@pytest.fixture(autouse=True)
def gl_error_check(request):
    """Every test starts and ends with no GL error on this thread's context, as moderngl's own ctx
    fixture checks: autouse, so it covers the tests that reach the GPU without a backend fixture (the
    default backend), and no test can forget it. The main thread's WebGL backend already exists
    (BACKENDS made it), so this creates no context."""
    if "webgl" not in BACKENDS:
        yield
        return
    check_gl_error(f"the tests before {request.node.nodeid}")
    yield
    check_gl_error(request.node.nodeid)


@pytest.fixture
def backend(tfgl_backend):
    """Each test runs on every backend this machine has (webgl on Mesa llvmpipe in CI), or those of
    --tfgl-backends: tfgl's own pytest plugin (engine/pytest_plugin.py) parametrizes it."""
    return tfgl_backend


@pytest.fixture
def webgl():
    """For tests of GPU-only behaviour: the WebGL backend's name (CI always has Mesa llvmpipe)."""
    if "webgl" not in BACKENDS:
        pytest.skip("no OpenGL context on this machine")
    return "webgl"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory):
    """name -> SavedModel folder of each fixture source (tests/fixtures/sources.py), built once."""
    from tests.fixtures import sources
    root = tmp_path_factory.mktemp("sources")
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            cache[name] = sources.export_saved_model(name, str(root / name))
        return cache[name]
    return get


def fixture_path(name: str) -> str:
    return os.path.join(FIXTURES, name, "model.json")


@contextlib.contextmanager
def collection_held_off():
    """Collects once, then holds garbage collection off: what is freed inside is freed by reference
    counting alone (an earlier test's model in a cycle cannot come back mid-count)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def on_a_thread_of_its_own(fn):
    """fn() on a new thread (its own GL context and backend, closed when it ends, before this returns);
    its result, or its exception raised here."""
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as error:  # re-raised in the test's thread
            result["error"] = error
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def convert(*args: str) -> None:
    """Runs `tfgl convert` in-process; --debug so a failure shows its traceback."""
    from engine.cli import main
    assert main(["--debug", "convert", *args]) == 0


@pytest.fixture
def no_string_uploads(monkeypatch):
    """On webgl, fails a test that uploads a string tensor to a texture."""
    if "webgl" not in engine.available_backends():
        return
    backend = engine.get_backend("webgl")
    upload = type(backend)._upload

    def checked(self, values, dtype, *args, **kwargs):
        assert dtype != "string" and values.dtype != object, "a string tensor was uploaded"
        return upload(self, values, dtype, *args, **kwargs)
    monkeypatch.setattr(type(backend), "_upload", checked)
