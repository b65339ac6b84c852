"""Shape-generic programs: shapes of one structure share a compiled program and give the CPU's
results, replayed plans included; by default only the families that opt in (Program.shape_uniforms)
are generic, and TFGL_SHAPE_UNIFORMS=1 / 0 makes every program generic / per-shape."""
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


def in_new_backend(monkeypatch, setting: str | None, fn):
    """fn(backend) on a fresh thread's backend made with TFGL_SHAPE_UNIFORMS=setting (None: unset)."""
    if setting is None:
        monkeypatch.delenv("TFGL_SHAPE_UNIFORMS", raising=False)
    else:
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


def products_and_depthwise(backend, products=((6, 10, 4), (10, 7, 6)), images=((6, 4), (10, 4))):
    """Packed matmuls (m, k, n) and depthwise convolutions (size, channels) of one structure each
    (even m and n), checked against numpy."""
    rng = np.random.default_rng(0)
    for m, k, n in products:
        a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
        with backend.current():
            out = packed.matmul(backend, Tensor(a, "float32"), Tensor(b, "float32"), False, False, None, (m, n))
        np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-5)
    for size, channels in images:
        x, f = rng.random((1, size, size, channels), np.float32), rng.random((3, 3, channels, 1), np.float32)
        info = conv_info(x.shape, f.shape, strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC", depthwise=True)
        with backend.current():
            out = packed.depthwise(backend, Tensor(x, "float32"), Tensor(f, "float32"), info, None)
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        expected = sum(padded[:, i:i + size, j:j + size, :] * f[i, j, :, 0] for i in range(3) for j in range(3))
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    return programs_named(backend, "matmul_packed"), programs_named(backend, "depthwise_packed")


def padded_convolutions(backend):
    """im2col programs of two padded 3x3 convolutions (of one structure), checked against numpy."""
    rng = np.random.default_rng(1)
    for size in (6, 10):
        x, f = rng.random((1, size, size, 4), np.float32), rng.random((3, 3, 4, 6), np.float32)
        info = conv_info(x.shape, f.shape, strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC")
        with backend.current():
            out = packed.conv2d(backend, Tensor(x, "float32"), Tensor(f, "float32"), info, None)
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        expected = sum(padded[:, i:i + size, j:j + size, :] @ f[i, j] for i in range(3) for j in range(3))
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    return programs_named(backend, "im2col_packed")


def test_two_shapes_share_one_program_with_shape_uniforms(monkeypatch):
    assert in_new_backend(monkeypatch, "1", products_and_depthwise) == (1, 1)


def test_by_default_the_shared_dim_and_image_size_stay_constants(monkeypatch):
    """Products of one k, and depthwise convolutions of one image size, share a program by default;
    others do not (their constant_sizes)."""
    def run(backend):
        shared = products_and_depthwise(backend, ((6, 10, 4), (12, 10, 6)), ((6, 4), (6, 8)))
        return shared, products_and_depthwise(backend)
    assert in_new_backend(monkeypatch, None, run) == ((1, 1), (2, 2))


def test_per_shape_programs_when_forced_off(monkeypatch):
    assert in_new_backend(monkeypatch, "0", products_and_depthwise) == (2, 2)


@pytest.mark.parametrize("setting, programs", [("1", 1), (None, 2), ("0", 2)])
def test_families_that_do_not_opt_in_stay_per_shape_by_default(monkeypatch, setting, programs):
    assert in_new_backend(monkeypatch, setting, padded_convolutions) == programs


@pytest.mark.parametrize("setting, most_programs", [("1", 20), (None, 36)])
def test_replayed_mobilenet_matches_the_cpu_with_shape_uniforms(monkeypatch, rng, setting, most_programs):
    path = fixture_path("mobilenet_v2")
    cpu = engine.load_graph_model(path, backend="cpu")
    shape = tuple(1 if d is None else d for d in cpu.inputs[0].shape)
    inputs = [rng.random(shape, np.float32) for _ in range(4)]

    def run(backend):
        model = engine.load_graph_model(path, backend="webgl")
        outputs = [model.predict(x) for x in inputs]
        assert model.replays.last is not None
        return outputs, len(backend._programs)

    outputs, programs = in_new_backend(monkeypatch, setting, run)
    for x, out in zip(inputs, outputs):
        np.testing.assert_allclose(out, cpu.predict(x), rtol=1e-4, atol=1e-5)
    assert programs <= most_programs


def test_replays_sharing_a_program_set_its_uniforms_again(monkeypatch):
    """A replay skips uniforms its program still holds from its previous call; one whose program
    another replay, or an op, drew with other shapes since sets them again."""
    rng = np.random.default_rng(2)
    b1, b2 = rng.random((2, 10, 4), np.float32), rng.random((2, 10, 6), np.float32)

    def product(backend, b):
        def run(feeds):
            a = feeds["a"]
            return [packed.matmul(backend, a, Tensor(b, "float32"), False, False, None, a.shape[:2] + b.shape[2:])]
        return run

    def run(backend):  # batched: a stale texel rows per matrix reads another batch of b
        a1, a2 = rng.random((2, 6, 10), np.float32), rng.random((2, 4, 10), np.float32)
        with backend.current():
            _, first = backend.record(product(backend, b1), {"a": Tensor(a1, "float32")})
            _, second = backend.record(product(backend, b2), {"a": Tensor(a2, "float32")})
            for _ in range(2):
                for replay, a, b in ((first, a1, b1), (first, a1, b1), (second, a2, b2)):
                    np.testing.assert_allclose(replay.run({"a": a})[0], a @ b, rtol=1e-5, atol=1e-5)
            packed.matmul(backend, Tensor(a2, "float32"), Tensor(b2, "float32"), False, False, None, (2, 4, 6))
            np.testing.assert_allclose(first.run({"a": a1})[0], a1 @ b1, rtol=1e-5, atol=1e-5)
        return programs_named(backend, "matmul_packed")
    assert in_new_backend(monkeypatch, None, run) == 1
