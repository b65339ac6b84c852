import pytest


@pytest.fixture(params=["keras", "tf_keras"])
def keras(request):
    """Each layer test runs against Keras 3 and tf_keras (Keras 2), where installed."""
    return pytest.importorskip(request.param)
