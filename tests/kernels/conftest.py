"""The product and convolution kernels have a packed and an unpacked GL program each (WEBGL_PACK):
their conformance tests run on the WebGL backend both ways. The CPU convolutions and hard NMS have
compiled kernels (tfgl[fast-cpu], engine.kernels.cpu.compiled) beside the numpy ones: where numba
is installed their tests run on the CPU backend both ways."""
import importlib.util

import pytest

import engine
from engine.kernels.cpu import compiled

PACKING_MODULES = ("test_convolution", "test_matrices")
COMPILED_MODULES = ("test_convolution", "test_cpu_fast_paths", "test_cpu_parallel", "test_dynamic")
CPU_KERNELS = ["compiled", "numpy"] if importlib.util.find_spec("numba") else ["numpy"]


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in PACKING_MODULES and "backend" in metafunc.fixturenames:
        metafunc.fixturenames.append("webgl_packing")
        metafunc.parametrize("webgl_packing", ["packed", "unpacked"], indirect=True)
    if module in COMPILED_MODULES:
        metafunc.fixturenames.append("cpu_kernels")
        metafunc.parametrize("cpu_kernels", CPU_KERNELS, indirect=True)


def pytest_collection_modifyitems(config, items):
    """The CPU backend has no packing and WebGL no compiled CPU kernels: keep one copy of each."""
    def params(item):
        return item.callspec.params if hasattr(item, "callspec") else {}

    def on_gl(item):
        return str(params(item).get("tfgl_backend", "")).startswith("webgl")
    items[:] = [item for item in items if not (
        params(item).get("webgl_packing") == "unpacked" and not on_gl(item)
        or params(item).get("cpu_kernels") == "numpy" and on_gl(item))]


@pytest.fixture
def webgl_packing(request, backend):
    if not backend.startswith("webgl"):
        yield request.param
        return
    gl = engine.get_backend(backend)
    saved, gl.pack = gl.pack, request.param == "packed"
    try:
        yield request.param
    finally:
        gl.pack = saved


@pytest.fixture
def cpu_kernels(request, monkeypatch):
    """The CPU backend's kernels compiled or in numpy."""
    monkeypatch.setattr(compiled, "ENABLED", request.param == "compiled")
    if request.param == "compiled":
        compiled.kernels()  # imported, as a model's convolutions would: some kernels wait for that
    return request.param
