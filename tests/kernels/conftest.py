"""The product and convolution kernels have a packed and an unpacked GL program each (WEBGL_PACK):
their conformance tests run on the WebGL backend both ways."""
import pytest

import engine

PACKING_MODULES = ("test_convolution", "test_matrices")


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rsplit(".", 1)[-1] in PACKING_MODULES and "backend" in metafunc.fixturenames:
        metafunc.fixturenames.append("webgl_packing")
        metafunc.parametrize("webgl_packing", ["packed", "unpacked"], indirect=True)


def pytest_collection_modifyitems(config, items):
    """The CPU backend has no packing: keep one of its two copies."""
    items[:] = [item for item in items if not (
        hasattr(item, "callspec") and item.callspec.params.get("webgl_packing") == "unpacked"
        and item.callspec.params.get("tfgl_backend") != "webgl")]


@pytest.fixture
def webgl_packing(request, backend):
    if backend != "webgl":
        yield request.param
        return
    gl = engine.backends.webgl.backend_for_thread()
    saved, gl.pack = gl.pack, request.param == "packed"
    try:
        yield request.param
    finally:
        gl.pack = saved
