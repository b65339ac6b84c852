"""Shape-generic programs (TFGL_SHAPE_UNIFORMS=1): shapes of one structure share a compiled program
and give the CPU's results, replayed plans included; the per-shape default stays right."""
import threading

import numpy as np
import pytest

import engine
from engine.backends import webgl
from engine.kernels.conv_util import conv_info
from engine.kernels.webgl import packed
from engine.tensors import Tensor
from tests.conftest import fixture_path

pytestmark = pytest.mark.webgl


def in_new_backend(monkeypatch, setting: str, fn):
    """fn(backend) on a fresh thread's backend made with TFGL_SHAPE_UNIFORMS=setting."""
    monkeypatch.setenv("TFGL_SHAPE_UNIFORMS", setting)
    result = {}

    def run():
        try:
            result["value"] = fn(webgl.backend_for_thread())
        except BaseException as error:  # re-raised in the test's thread
            result["error"] = error
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def programs_named(backend, name: str) -> int:
    return sum(1 for key in backend._programs if key[0][0] == name)


def products_and_depthwise(backend):
    """Packed matmuls and depthwise convolutions of two shapes each (of one structure), checked
    against numpy."""
    rng = np.random.default_rng(0)
    for m, k, n in ((6, 10, 4), (10, 7, 6)):  # even m and n: one structure
        a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
        with backend.current():
            out = packed.matmul(backend, Tensor(a, "float32"), Tensor(b, "float32"), False, False, None, (m, n))
        np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-5)
    for size in (6, 10):
        x, f = rng.random((1, size, size, 4), np.float32), rng.random((3, 3, 4, 1), np.float32)
        info = conv_info(x.shape, f.shape, strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC", depthwise=True)
        with backend.current():
            out = packed.depthwise(backend, Tensor(x, "float32"), Tensor(f, "float32"), info, None)
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        expected = sum(padded[:, i:i + size, j:j + size, :] * f[i, j, :, 0] for i in range(3) for j in range(3))
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    return programs_named(backend, "matmul_packed"), programs_named(backend, "depthwise_packed")


def test_two_shapes_share_one_program_with_shape_uniforms(monkeypatch):
    assert in_new_backend(monkeypatch, "1", products_and_depthwise) == (1, 1)


def test_per_shape_programs_by_default(monkeypatch):
    assert in_new_backend(monkeypatch, "0", products_and_depthwise) == (2, 2)


def test_replayed_mobilenet_matches_the_cpu_with_shape_uniforms(monkeypatch, rng):
    path = fixture_path("mobilenet_v2")
    cpu = engine.load_graph_model(path, backend="cpu")
    shape = tuple(1 if d is None else d for d in cpu.inputs[0].shape)
    inputs = [rng.random(shape, np.float32) for _ in range(4)]

    def run(backend):
        model = engine.load_graph_model(path, backend="webgl")
        outputs = [model.predict(x) for x in inputs]
        assert model.replays.last is not None
        return outputs, len(backend._programs)

    outputs, programs = in_new_backend(monkeypatch, "1", run)
    for x, out in zip(inputs, outputs):
        np.testing.assert_allclose(out, cpu.predict(x), rtol=1e-4, atol=1e-5)
    assert programs <= 20
