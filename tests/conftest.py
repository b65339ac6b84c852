import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import engine  # noqa: E402

BACKENDS = engine.available_backends()
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each test runs on every backend this machine has (webgl on Mesa llvmpipe in CI)."""
    return request.param


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
