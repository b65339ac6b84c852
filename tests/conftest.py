import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import engine  # noqa: E402

BACKENDS = engine.available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each kernel test runs on every backend this machine has (webgl on Mesa llvmpipe in CI)."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
