"""webgl-fp16: every program's output stored as a half, as TF.js on phones without float32 render
targets (engine/webgl/half_float.py). numpy is the reference: np.float16 rounds to nearest even; the
round-toward-zero reference below steps numpy's halves back toward zero on their bits."""
import numpy as np
import pytest

import engine
from engine.cli import BACKENDS as CLI_BACKENDS
from engine.cli import main
from engine.tensors import Tensor
from engine.webgl.compiler import Layout, fragment_source
from engine.webgl.half_float import FLOAT32, half_storage
from engine.webgl.program import Program
from engine.webgl.texture_pool import TextureManager
from engine.webgl.textures import decode_texels
from tests.test_pytest_plugin import EXAMPLE, run_pytest

pytestmark = pytest.mark.webgl
MAX_HALF = 65504.0


@pytest.fixture(params=["rtz", "rne"])
def rounding(request, monkeypatch, webgl):
    monkeypatch.setenv("TFGL_FP16_ROUNDING", request.param)
    return request.param


def rne_half(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return values.astype(np.float16).astype(np.float32)


def rtz_half(values: np.ndarray) -> np.ndarray:
    """Round toward zero: numpy's nearest half, one step back toward zero where it rounded away (one
    less on the magnitude's bits); finite values past the largest half clamp to it."""
    values = np.asarray(values, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        nearest = values.astype(np.float16)
        away = np.abs(nearest.astype(np.float32)) > np.abs(values)
    bits = nearest.view(np.uint16).copy()
    bits[away] -= 1  # the sign bit is apart: a magnitude one step smaller
    out = bits.view(np.float16).astype(np.float32)
    overflow = np.isfinite(values) & (np.abs(values) >= MAX_HALF)
    out[overflow] = np.copysign(MAX_HALF, values[overflow])
    return out


REFERENCE = {"rtz": rtz_half, "rne": rne_half}


def on_gpu(backend: str, op: str, *arrays: np.ndarray, **attrs) -> Tensor:
    """`op` run by the GL kernel: the inputs uploaded first (small CPU tensors would stay on the CPU)."""
    impl = engine.get_backend(backend)
    tensors = [Tensor(a, "int32" if a.dtype == np.int32 else "float32") for a in arrays]
    for tensor in tensors:
        impl.texture_of(tensor)
    fallbacks = dict(impl.stats.cpu_fallbacks)
    out = impl.run(op, tensors, attrs)[0]
    assert impl.stats.cpu_fallbacks == fallbacks, f"{op} fell back to the CPU"
    with impl.current():
        impl.check_error(f"{op} on {backend}")  # the autouse check sees the float32 context only
    return out


def assert_same_values(got: np.ndarray, want: np.ndarray) -> None:
    """Equal element by element, NaN where NaN and the sign of zeros too."""
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_tfjs_265_squaring_3_3_gives_10_8828125_by_default(webgl, monkeypatch):
    monkeypatch.delenv("TFGL_FP16_ROUNDING", raising=False)
    x = np.full(200, 3.3, np.float32)  # past CPU forwarding's size
    for op, inputs in (("Square", (x,)), ("Mul", (x, x)), ("Pow", (x, np.full(200, 2.0, np.float32)))):
        assert on_gpu("webgl-fp16", op, *inputs).numpy()[0] == 10.8828125, op
        assert on_gpu("webgl", op, *inputs).numpy()[0] == pytest.approx(10.89, rel=1e-6), op


def test_nearest_even_rounding_gives_10_890625(webgl, monkeypatch):
    monkeypatch.setenv("TFGL_FP16_ROUNDING", "rne")
    x = np.full(200, 3.3, np.float32)
    assert on_gpu("webgl-fp16", "Square", x).numpy()[0] == 10.890625


SPECIALS = np.array([
    0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -2.5,
    MAX_HALF, 65519.0, -65519.0, 65520.0, -65520.0, 65536.0, 70000.0, -1e10, 3e38,  # overflow
    1 + 2.0**-11, 1 + 3 * 2.0**-11, -(1 + 2.0**-11) * 2.0**5,  # ties between halves
    2.0**-14, 2.0**-14 * (1 - 2.0**-12), 2.0**-24, 2.0**-25, 1.5 * 2.0**-24, 3 * 2.0**-25,  # subnormal halves
    2.0**-26, -2.0**-30, 1e-8, -1e-9, 1e-5, 5.5e-5,  # below 2^-24 (lost) and small ones rounded coarsely
], np.float32)


def random_products(rng, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Factors whose products span subnormal halves to past the largest half, both signs."""
    magnitude = 2.0 ** rng.uniform(-30, 18, n) * rng.uniform(1, 2, n)
    x = (magnitude * rng.choice([-1.0, 1.0], n)).astype(np.float32)
    return x, rng.uniform(0.5, 2.0, n).astype(np.float32)


def test_stored_values_are_the_chosen_rounding_of_the_float32_results(rounding, rng):
    x, y = random_products(rng)
    exact = on_gpu("webgl", "Mul", x, y).numpy()
    assert_same_values(on_gpu("webgl-fp16", "Mul", x, y).numpy(), REFERENCE[rounding](exact))
    specials = np.tile(SPECIALS, 8)  # past CPU forwarding's size
    stored = on_gpu("webgl-fp16", "Mul", specials, np.ones_like(specials)).numpy()
    assert_same_values(stored, REFERENCE[rounding](specials))


def test_overflow_clamps_toward_zero_and_reaches_infinity_to_nearest(rounding):
    big = np.full(200, 70000.0, np.float32)
    stored = on_gpu("webgl-fp16", "Neg", big).numpy()[0]
    assert stored == (-MAX_HALF if rounding == "rtz" else -np.inf)
    small = np.full(200, 1e-8, np.float32)  # below the smallest half: lost
    assert on_gpu("webgl-fp16", "Mul", small, np.ones_like(small)).numpy()[0] == 0.0


def test_packed_programs_store_halves_too(rounding, rng):
    # Halves already: the pack programs MatMul runs first store them exactly, so only its product rounds.
    a, b = (rng.normal(0, 30, shape).astype(np.float16).astype(np.float32) for shape in ((33, 20), (20, 9)))
    product = on_gpu("webgl-fp16", "MatMul", a, b)
    assert product.device_data.packed
    exact = on_gpu("webgl", "MatMul", a, b).numpy()
    assert_same_values(product.numpy(), REFERENCE[rounding](exact))
    assert np.abs(product.numpy() - a @ b).max() > np.abs(exact - a @ b).max()


def test_int32_values_are_stored_as_halves_too(rounding, rng):
    """As on such phones: an int32 tensor lives in the same textures, exact up to 2048 only."""
    ints = rng.integers(-60000, 60000, 1000).astype(np.int32)
    ints[:4] = [2047, 2049, 2051, -4097]
    stored = on_gpu("webgl-fp16", "Mul", ints, np.ones_like(ints))
    assert stored.dtype == "int32"
    want = decode_texels(REFERENCE[rounding](ints.astype(np.float32)), None, ints.size, "int32")
    np.testing.assert_array_equal(stored.numpy(), want)
    assert stored.numpy()[:4].tolist() == [2047, 2048, 2050 if rounding == "rtz" else 2052, -4096]


def test_driver_rounding_leaves_halves_to_the_render_target(webgl, monkeypatch, rng):
    monkeypatch.setenv("TFGL_FP16_ROUNDING", "driver")
    x, y = random_products(rng, 1000)
    stored = on_gpu("webgl-fp16", "Mul", x, y).numpy()
    finite = np.isfinite(stored)
    np.testing.assert_array_equal(stored[finite], stored[finite].astype(np.float16).astype(np.float32))


def test_the_rounding_rule_is_part_of_every_program_source():
    program = Program("unpack", ("templates/unpack.glsl",), ("A",), packed_inputs=True)
    inputs, output = [Layout((1, 4, 4), 2, 2, True)], Layout((1, 4, 4), 4, 4)
    storages = [FLOAT32, *(half_storage(rule) for rule in ("rtz", "rne", "driver"))]
    sources = [fragment_source(program, inputs, output, storage) for storage in storages]
    assert len(set(sources)) == 4
    assert "tfgl_half" not in sources[0] and "tfgl_half" not in sources[3]
    assert all("tfgl_output = vec4(tfgl_half(value)" in s for s in sources[1:3])


def test_settings_are_checked_and_select_the_backend(webgl, monkeypatch):
    monkeypatch.setenv("TFGL_FP16_ROUNDING", "nearest")
    with pytest.raises(ValueError, match="TFGL_FP16_ROUNDING='nearest': use one of rtz, rne, driver"):
        engine.get_backend("webgl-fp16")
    monkeypatch.delenv("TFGL_FP16_ROUNDING")
    monkeypatch.setenv("TFGL_WEBGL_PRECISION", "fp16")
    assert engine.get_backend("webgl").name == "webgl-fp16"
    monkeypatch.setenv("TFGL_WEBGL_PRECISION", "half")
    with pytest.raises(ValueError, match="TFGL_WEBGL_PRECISION='half': use fp32 or fp16"):
        engine.get_backend("webgl")
    monkeypatch.delenv("TFGL_WEBGL_PRECISION")
    assert engine.get_backend("webgl").name == "webgl"
    assert "webgl-fp16" not in engine.available_backends()
    assert engine.available_backends(fp16=True) == ["webgl", "cpu", "webgl-fp16"]
    assert set(CLI_BACKENDS) == set(engine.backends.BACKEND_NAMES)


def test_the_texture_pool_keeps_half_and_float_textures_apart(webgl):
    backend = engine.get_backend("webgl")
    with backend.current():
        pool = TextureManager(backend.ctx)
        half = pool.acquire(3, 5, 4, "f2")
        assert (half.dtype, pool.bytes_in_use) == ("f2", 3 * 5 * 4 * 2)
        pool.release(half)
        single = pool.acquire(3, 5, 4)
        assert single is not half and single.dtype == "f4"
        assert pool.acquire(3, 5, 4, "f2") is half
        for texture in (half, single):
            pool.release(texture)
            texture.release()


def test_a_real_model_loses_accuracy_but_stays_finite_and_replays(webgl, monkeypatch, rng):
    monkeypatch.delenv("TFGL_FP16_ROUNDING", raising=False)
    path = f"{EXAMPLE}/model.json"
    models = {name: engine.load_graph_model(path, backend=name) for name in ("cpu", "webgl", "webgl-fp16")}
    x = rng.random((1, 24, 24, 3), np.float32)
    want = models["cpu"].predict(x).astype(np.float64)
    error = {name: np.max(np.abs(models[name].predict(x) - want) / np.abs(want)) for name in ("webgl", "webgl-fp16")}
    assert np.isfinite(error["webgl-fp16"]) and error["webgl-fp16"] < 1e-2
    assert error["webgl-fp16"] > 100 * error["webgl"]
    fp16 = models["webgl-fp16"]
    first = fp16.predict(x)
    for _ in range(2):  # the third call replays the recorded draws
        np.testing.assert_array_equal(fp16.predict(x), first)
    assert fp16.replays.last is not None


def test_cli_runs_a_model_on_webgl_fp16(webgl, tmp_path):
    assert main(["run", f"{EXAMPLE}/model.json", "--backend", "webgl-fp16", "--output", str(tmp_path / "y.npz")]) == 0
    with np.load(tmp_path / "y.npz") as outputs:
        assert all(np.isfinite(outputs[key]).all() for key in outputs.files)


def test_the_pytest_plugin_runs_a_test_on_webgl_fp16_when_asked(webgl, tmp_path):
    (tmp_path / "test_phone.py").write_text(
        "import numpy as np\nimport engine\n\n"
        "def test_square(tfgl_backend):\n"
        "    backend = engine.get_backend(tfgl_backend)\n"
        "    x = engine.tensor(np.full(200, 3.3, np.float32))\n"
        "    backend.texture_of(x)\n"
        "    assert backend.name == 'webgl-fp16'\n"
        "    assert backend.run('Square', [x], {})[0].numpy()[0] == 10.8828125\n")
    result = run_pytest(tmp_path, "--tfgl-backends", "webgl-fp16", "-rA")
    assert result.returncode == 0 and "PASSED test_phone.py::test_square[webgl-fp16]" in result.stdout, result.stdout
