"""Compile-ahead warm-up: it compiles what the first call needs, draws one pixel per program, and
leaves nothing behind that a later call could read (TF.js's compile-only mode left zeros, tfjs#7372)."""
import logging
import threading

import numpy as np
import pytest

import engine
from engine import dtypes
from engine.backends import webgl as webgl_backend
from engine.backends.webgl.dry_run import DryRun, ThrowawayPool
from engine.webgl.programs import Stats, driver_variant
from engine.webgl.texture_pool import TextureManager
from engine.webgl.textures import is_power_of_two
from engine.errors import InputError
from engine.graph.model import GraphModel
from engine.io import parse_model_json
from engine.kernels.cpu.control import TensorArray, TensorList
from engine.tensors import Tensor
from tests.conftest import fixture_path, on_a_thread_of_its_own
from tests.fixtures import sources

MOBILENET = fixture_path("mobilenet_v2")


def _image(model, seed: int = 0) -> np.ndarray:
    shape = (1,) + tuple(model.inputs[0].shape[1:])
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _gl_stats() -> Stats:
    return webgl_backend.backend_for_thread().stats


def test_warmup_then_predict_is_bit_identical_to_a_model_never_warmed(webgl, monkeypatch):
    """MobileNetV2's weights need packed twins (reshaped filters): a dry run's twin must not stay on them."""
    warmed = engine.load_graph_model(MOBILENET, backend=webgl, warmup=True)
    x = _image(warmed)
    got = [warmed.predict(x) for _ in range(3)]  # executor, recording, replay
    monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")
    fresh = engine.load_graph_model(MOBILENET, backend=webgl).predict(x)
    for y in got:
        np.testing.assert_array_equal(y, fresh)
    np.testing.assert_allclose(got[0], engine.load_graph_model(MOBILENET, backend="cpu").predict(x),
                               rtol=1e-3, atol=1e-4)


def test_warmup_after_real_calls_leaves_them_intact(webgl, monkeypatch):
    monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")  # the first call compiles as it draws
    model = engine.load_graph_model(MOBILENET, backend=webgl)
    x = _image(model, 1)
    before = model.predict(x)
    dry_draws = _gl_stats().dry_draws
    model.warmup()
    assert _gl_stats().dry_draws == dry_draws  # the real call drew (so the driver compiled) every program
    np.testing.assert_array_equal(model.predict(x), before)
    model.warmup({"image": x})
    np.testing.assert_array_equal(model.predict(x), before)


def test_warmup_compiles_what_the_first_call_needs_with_one_pixel_draws(webgl):
    model = engine.load_graph_model(MOBILENET, backend=webgl)

    def warm_then_call():
        backend = webgl_backend.backend_for_thread()
        model.warmup()
        after_warmup, textures_made = backend.stats.as_dict(), backend.textures.created
        model.predict(_image(model))
        return after_warmup, backend.stats.as_dict(), backend.textures.created - textures_made
    warmed, called, textures_made_by_the_call = on_a_thread_of_its_own(warm_then_call)
    made = warmed["programs_compiled"] + warmed["programs_loaded"]  # from source or from the program cache
    assert made > 0
    # Every draw was a dry run's one-pixel draw, one per program (its one driver variant); the weights
    # were uploaded, and the textures the call holds made: the call uploads its image and makes none.
    assert warmed["draws"] == 0 and warmed["downloads"] == 0
    assert warmed["uploads"] > 0 and called["uploads"] == warmed["uploads"] + 1
    assert textures_made_by_the_call == 0
    assert warmed["dry_draws"] == made == len(warmed["program_compiles"])
    assert "pack" in {name for name, _, _ in warmed["program_compiles"]}  # the weights' twins
    assert called["programs_compiled"] + called["programs_loaded"] == made
    assert called["dry_draws"] == warmed["dry_draws"]

    def first_call():  # a model of its own: another thread's uploads change which twins a call makes
        fresh = engine.load_graph_model(MOBILENET, backend=webgl)
        fresh.predict(_image(fresh))
        return _gl_stats().programs_made
    assert on_a_thread_of_its_own(first_call) == made


def test_dry_run_framebuffers_draw_one_pixel(webgl):
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=webgl)

    def viewports_of_a_warmup() -> list:
        backend = webgl_backend.backend_for_thread()
        viewports, framebuffer = [], backend._framebuffer

        def spy(texture):
            fbo = framebuffer(texture)
            viewports.append(tuple(fbo.viewport))
            return fbo
        backend._framebuffer = spy
        model.warmup({"image": (3, 24, 24, 3)})
        return viewports
    viewports = on_a_thread_of_its_own(viewports_of_a_warmup)
    assert viewports and set(viewports) == {(0, 0, 1, 1)}


@pytest.mark.parametrize("padded", [True, False])
def test_the_first_call_after_warmup_meets_no_driver_variant_the_dry_run_left_out(webgl, monkeypatch, padded):
    """llvmpipe compiles a shader again for textures whose sides are powers of two where the last ones'
    were not: sides are padded so that a program has one variant, and warm-up draws every variant a
    call meets where they are not (unpadded here)."""
    if not padded:
        monkeypatch.setattr(TextureManager, "allocated_size", lambda self, cols, rows: (cols, rows))
    model = engine.load_graph_model(MOBILENET, backend=webgl)

    def variants_drawn() -> tuple[set, set]:
        backend = webgl_backend.backend_for_thread()
        dry, real, submit = set(), set(), backend._submit

        def spy(compiled, fbo, textures, uniforms):
            (dry if backend.compiling_only else real).add((compiled.program, driver_variant(textures)))
            submit(compiled, fbo, textures, uniforms)
        backend._submit = spy
        model.warmup()
        model.predict(_image(model))
        return dry, real
    dry, real = on_a_thread_of_its_own(variants_drawn)
    programs = {program for program, _ in real}
    assert len(programs) == len(real) if padded else len(programs) < len(real)
    assert real <= dry


def test_dry_runs_keep_what_drivers_see_of_texture_sizes_and_no_more(webgl):
    ctx = webgl_backend.backend_for_thread().ctx
    real, stand_ins = TextureManager(ctx), ThrowawayPool(ctx)
    largest = real.max_size
    for cols, rows in [(1, 1), (4, 6), (5, 1024), (largest, 3)]:
        allocated = real.allocated_size(cols, rows)
        stand_in = stand_ins.allocated_size(cols, rows)
        assert max(stand_in) <= 3
        assert [is_power_of_two(n) for n in stand_in] == [is_power_of_two(n) for n in allocated]
    texture = type("Texture", (), {"size": (4, 6)})
    assert driver_variant([texture, texture]) == (True, False, True, False)


def test_warmup_keeps_only_the_weights_uploads_and_free_textures_for_the_first_call(webgl, monkeypatch):
    model = engine.load_graph_model(MOBILENET, backend=webgl)

    def warm() -> tuple:
        backend = webgl_backend.backend_for_thread()  # a new thread's: an empty pool
        model.warmup({"image": (2, 96, 96, 3)})
        uploaded = [c for c in model.executor.constants.values() if c.device_data is not None]
        for weight in uploaded:  # real uploads in full-size textures, not a dry run's stand-ins
            data = weight.device_data
            assert data.texture.size == backend.textures.allocated_size(data.cols, data.rows)
            np.testing.assert_array_equal(data.download(), weight.numpy().reshape(-1))
        pool = backend.textures
        return len(uploaded), pool.in_use, pool.textures_alive() - pool.in_use, pool.created
    uploaded, in_use, free, created = on_a_thread_of_its_own(warm)
    assert uploaded and in_use == uploaded and free > 0 and created == in_use + free

    def a_first_call_without_warmup() -> int:  # as many textures as the warm-up made, no more
        monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")
        fresh = engine.load_graph_model(MOBILENET, backend=webgl)
        fresh.predict(np.zeros((2, 96, 96, 3), np.float32))
        return webgl_backend.backend_for_thread().textures.created
    assert on_a_thread_of_its_own(a_first_call_without_warmup) == created


def test_warmup_shapes_and_examples(backend):
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=backend)
    x = sources.inputs_for("small_cnn")["image"]
    model.warmup([x.shape])
    model.warmup(x)
    model.warmup((2, 24, 24, 3))
    with pytest.raises(InputError, match="unknown input"):
        model.warmup({"nope": (1, 24, 24, 3)})
    np.testing.assert_allclose(model.predict(x), engine.load_graph_model(fixture_path("small_cnn"),
                                                                          backend="cpu").predict(x),
                               rtol=1e-4, atol=1e-5)


def test_warmup_takes_the_input_names_predict_takes(webgl):
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=webgl)

    def warm_by_tensor_name_then_call() -> int:
        model.warmup({"image:0": (5, 24, 24, 3)})
        made = _gl_stats().programs_made
        model.predict({"image:0": np.zeros((5, 24, 24, 3), np.float32)})
        return _gl_stats().programs_made - made
    assert on_a_thread_of_its_own(warm_by_tensor_name_then_call) == 0


def _constant_side_model() -> GraphModel:
    """y = exp(sin(c) * 3) * (x + c): the exp side, first in order, reads only a small constant (CPU
    handoff, as TF.js's), which the x side then uploads."""
    def node(name, op, *inputs):
        return {"name": name, "op": op, "input": list(inputs), "attr": {"T": {"type": "DT_FLOAT"}}}
    const = {"dtype": {"type": "DT_FLOAT"}}
    nodes = [{"name": "x", "op": "Placeholder", "attr": const}, {"name": "c", "op": "Const", "attr": const},
             {"name": "three", "op": "Const", "attr": const}, node("sine", "Sin", "c"),
             node("scaled", "Mul", "sine", "three"), node("small", "Exp", "scaled"), node("big", "AddV2", "x", "c"),
             node("y", "Mul", "big", "small")]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"y": {"name": "y:0"}}}}
    weights = {"c": np.random.default_rng(3).uniform(-3, 3, 128).astype(np.float32), "three": np.float32(3)}
    return GraphModel(parse_model_json(data, "."), weights, "webgl")


def test_small_ops_on_constants_take_one_path_in_every_call_warmed_or_not(webgl, monkeypatch):
    """The exp side runs on the CPU whether or not the x side uploaded the constant yet: the first call,
    later calls and a warmed-up model's first call give the same bits, and warm-up compiled all it needs."""
    x = np.random.default_rng(0).standard_normal((64, 128)).astype(np.float32)

    def fresh() -> list:
        monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")
        model = _constant_side_model()
        return [model.predict({"x": x}) for _ in range(3)]

    def warmed() -> tuple:
        monkeypatch.delenv("TFGL_COMPILE_AHEAD", raising=False)
        model = _constant_side_model()
        model.warmup({"x": x.shape})
        made = _gl_stats().programs_made
        first = model.predict({"x": x})
        return first, _gl_stats().programs_made - made
    calls = on_a_thread_of_its_own(fresh)
    first, compiled = on_a_thread_of_its_own(warmed)
    for y in calls[1:] + [first]:
        np.testing.assert_array_equal(y, calls[0])
    assert compiled == 0


def _detector_model() -> GraphModel:
    """Boxes kept by NMS, and probabilities kept by Where, each read on by a GL kernel. Zeros read back
    keep nothing (sigmoid(0) = 0.5 is under both thresholds), so a dry run on them would leave the
    gathers and what reads them to the first call."""
    def node(name, op, *inputs, **attr):
        return {"name": name, "op": op, "input": list(inputs), "attr": {"T": {"type": "DT_FLOAT"}, **attr}}

    def const(name, dtype):
        return {"name": name, "op": "Const", "attr": {"dtype": {"type": dtype}}}
    nodes = [node("x", "Placeholder", dtype={"type": "DT_FLOAT"}), node("s", "Placeholder", dtype={"type": "DT_FLOAT"}),
             const("two", "DT_FLOAT"), const("most", "DT_INT32"), const("iou", "DT_FLOAT"),
             const("least", "DT_FLOAT"), const("sigma", "DT_FLOAT"), const("axis", "DT_INT32"),
             const("high", "DT_FLOAT"), const("flat", "DT_INT32"),
             node("boxes", "Mul", "x", "two"), node("probs", "Sigmoid", "s"),
             node("nms", "NonMaxSuppressionV5", "boxes", "probs", "most", "iou", "least", "sigma",
                  pad_to_max_output_size={"b": False}),
             node("picked", "GatherV2", "boxes", "nms", "axis"), node("y", "Exp", "picked"),
             node("mask", "Greater", "probs", "high"), node("where", "Where", "mask"),
             node("rows", "Reshape", "where", "flat"), node("chosen", "GatherV2", "probs", "rows", "axis"),
             node("z", "Log", "chosen"),
             # the rest, through a view of Where's output (Reshape): unknown values stay unknown
             const("everyone", "DT_INT64"), node("rest", "ListDiff", "everyone", "rows", T={"type": "DT_INT64"}),
             node("others", "GatherV2", "probs", "rest", "axis"), node("u", "Tanh", "others")]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}, "s": {"name": "s:0"}},
                          "outputs": {"y": {"name": "y:0"}, "z": {"name": "z:0"}, "u": {"name": "u:0"}}}}
    weights = {"two": np.float32(2), "most": np.int32(8), "iou": np.float32(0.5), "least": np.float32(0.6),
               "sigma": np.float32(0), "axis": np.int32(0), "high": np.float32(0.9), "flat": np.int32([-1]),
               "everyone": np.arange(300, dtype=np.int64)}
    return GraphModel(parse_model_json(data, "."), weights, "webgl")


def _warmed_and_not(make, x: np.ndarray | dict, monkeypatch, examples: dict | None = None) -> tuple:
    """(outputs after warmup(examples, by default x's shapes), programs that first call compiled,
    outputs of a model never warmed)."""
    feeds = x if isinstance(x, dict) else {"x": x}

    def warmed() -> tuple:
        model = make()
        model.warmup(examples or {name: value.shape for name, value in feeds.items()})
        made = _gl_stats().programs_made
        return model.predict(feeds), _gl_stats().programs_made - made

    def never_warmed() -> dict:
        monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")
        return make().predict(feeds)
    got, compiled_by_the_call = on_a_thread_of_its_own(warmed)
    return got, compiled_by_the_call, on_a_thread_of_its_own(never_warmed)


def test_warmup_compiles_what_follows_nms_and_where_as_if_they_kept_the_most(webgl, monkeypatch):
    rng = np.random.default_rng(5)
    feeds = {"x": rng.uniform(0, 10, (300, 4)).astype(np.float32), "s": rng.standard_normal(300).astype(np.float32)}

    got, compiled_by_the_call, want = _warmed_and_not(_detector_model, feeds, monkeypatch)
    assert got["y"].shape == (8, 4) and got["z"].size > 0 and got["u"].size > 0  # found something, every path
    assert compiled_by_the_call == 0
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def _count_model(tail: list, weights: dict, outputs: tuple[str, ...]) -> GraphModel:
    """count = how many of x are positive, summed on the GPU, then `tail`: detection post-processing's
    sizes. Read back as zeros, a count sizes what it sizes empty."""
    nodes = [_node("x", "Placeholder", dtype={"type": "DT_FLOAT"}), _const("zero", "DT_FLOAT"),
             _const("axis", "DT_INT32"), _const("start", "DT_INT32"), _const("step", "DT_INT32"),
             _node("positive", "Greater", "x", "zero"),
             _node("ones", "Cast", "positive", SrcT={"type": "DT_BOOL"}, DstT={"type": "DT_INT32"}),
             _node("count", "Sum", "ones", "axis", keep_dims={"b": False}, Tidx={"type": "DT_INT32"}, **_INT32),
             *tail]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}},
                          "outputs": {name: {"name": f"{name}:0"} for name in outputs}}}
    weights = {"zero": np.float32(0), "axis": np.int32(0), "start": np.int32(0), "step": np.int32(1), **weights}
    return GraphModel(parse_model_json(data, "."), weights, "webgl")


def _node(name, op, *inputs, **attr):
    return {"name": name, "op": op, "input": list(inputs), "attr": {"T": {"type": "DT_FLOAT"}, **attr}}


def _const(name, dtype):
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": dtype}}}


_INT32 = {"T": {"type": "DT_INT32"}}


def _capped_count_model() -> GraphModel:
    """The count capped by a constant, with Select and with Minimum, each sizing a Range that gathers
    that many values for a GL kernel."""
    return _count_model([
        _const("cap", "DT_INT32"), _const("smaller_cap", "DT_INT32"),
        _node("over", "Greater", "cap", "count", **_INT32), _node("capped", "Select", "over", "count", "cap", **_INT32),
        _node("first", "Range", "start", "capped", "step", Tidx={"type": "DT_INT32"}),
        _node("picked", "GatherV2", "x", "first", "axis"), _node("y", "Exp", "picked"),
        _node("fewer", "Minimum", "count", "smaller_cap", **_INT32),
        _node("others", "Range", "start", "fewer", "step", Tidx={"type": "DT_INT32"}),
        _node("chosen", "GatherV2", "x", "others", "axis"), _node("z", "Tanh", "chosen"),
    ], {"cap": np.int32(7), "smaller_cap": np.int32(5)}, ("y", "z"))


def _sentinel_model() -> GraphModel:
    """x[last:], last = count - 1 where anything counts, else a sentinel -1 (taken, it fails)."""
    return _count_model([
        _const("one", "DT_INT32"), _const("none", "DT_INT32"), _const("end", "DT_INT32"),
        _node("some", "Greater", "count", "start", **_INT32), _node("last", "Sub", "count", "one", **_INT32),
        _node("from", "SelectV2", "some", "last", "none", **_INT32),
        _node("tail", "Range", "from", "end", "step", Tidx={"type": "DT_INT32"}),
        _node("picked", "GatherV2", "x", "tail", "axis"), _node("y", "Exp", "picked"),
    ], {"one": np.int32(1), "none": np.int32(-1), "end": np.int32(300)}, ("y",))


def _oversized_cap_model() -> GraphModel:
    """x[:min(count, 7)] where x holds fewer than 7 values: the cap is more than the count can be."""
    return _count_model([
        _const("cap", "DT_INT32"), _node("capped", "Minimum", "count", "cap", **_INT32),
        _node("first", "Range", "start", "capped", "step", Tidx={"type": "DT_INT32"}),
        _node("picked", "GatherV2", "x", "first", "axis"), _node("y", "Exp", "picked"),
    ], {"cap": np.int32(7)}, ("y",))


def test_warmup_sizes_what_a_capped_count_sizes_by_its_cap(webgl, monkeypatch, caplog):
    x = np.random.default_rng(9).standard_normal(300).astype(np.float32)  # ~150 positive: both caps hold
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call, want = _warmed_and_not(_capped_count_model, x, monkeypatch)
    assert "failed" not in caplog.text
    assert compiled_by_the_call == 0
    np.testing.assert_array_equal(got["y"], want["y"])
    np.testing.assert_array_equal(got["z"], want["z"])
    np.testing.assert_allclose(want["y"], np.exp(x[:7]), rtol=1e-6)
    np.testing.assert_allclose(want["z"], np.tanh(x[:5]), rtol=1e-6, atol=1e-7)


def test_a_capped_count_takes_its_cap_over_an_examples_count(webgl, monkeypatch, caplog):
    """An example with nothing to count (its count of 0 believed) still readies the tail for calls that
    count something: warm-up is for calls with other values."""
    x = np.random.default_rng(9).standard_normal(300).astype(np.float32)
    nothing_positive = {"x": -np.ones(300, np.float32)}
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call, want = _warmed_and_not(_capped_count_model, x, monkeypatch, nothing_positive)
    assert "failed" not in caplog.text and compiled_by_the_call == 0
    np.testing.assert_array_equal(got["y"], want["y"])
    np.testing.assert_array_equal(got["z"], want["z"])


def test_a_select_on_an_unknown_condition_takes_the_larger_branch_not_a_sentinel(webgl, monkeypatch, caplog):
    x = np.random.default_rng(10).standard_normal(300).astype(np.float32)
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call, want = _warmed_and_not(_sentinel_model, x, monkeypatch)
    assert "failed" not in caplog.text  # -1 would have failed the gather
    assert compiled_by_the_call == 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(want, np.exp(x[np.sum(x > 0) - 1:]), rtol=1e-6)


def test_a_dry_run_a_guess_fails_runs_again_without_guesses_not_for_real(webgl, monkeypatch, caplog):
    x = np.float32([1, -1, 2, 3, -4])
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, _, want = _warmed_and_not(_oversized_cap_model, x, monkeypatch)
    assert "failed with guessed values" in caplog.text
    assert "running once" not in caplog.text
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(want, np.exp(x[:3]), rtol=1e-6)


def test_dry_run_guesses_pick_the_known_input_of_a_scalar_select_or_minimum():
    dry = DryRun(pool=None)

    def scalar(value, dtype="int32", unknown=False) -> Tensor:
        tensor = Tensor(np.array(value, dtypes.NUMPY_OF[dtype]), dtype)
        if unknown:
            dry.note_unknown([tensor])  # a CPU output made from values the run never computed
        return tensor

    def guess(op, *inputs, output=None):
        [result] = dry.guess(op, list(inputs), [output if output is not None else scalar(0)])
        return result
    count, other_count, cap = scalar(0, unknown=True), scalar(3, unknown=True), scalar(7)
    untouched = scalar(0)
    assert guess("Minimum", scalar(2), cap, output=untouched) is untouched      # all known
    assert not dry.guessed
    guessed = guess("Minimum", count, cap)
    assert guessed.numpy() == 7 and dry.unknown(guessed) and dry.guessed
    assert guess("Minimum", count, other_count).numpy() == 0           # neither known: the values it has
    unknown_condition = scalar(False, "bool", unknown=True)
    assert guess("Select", unknown_condition, count, cap).numpy() == 7   # the larger branch
    assert guess("SelectV2", unknown_condition, cap, count).numpy() == 7
    assert guess("Select", unknown_condition, count, other_count).numpy() == 3
    assert guess("Select", unknown_condition, count, scalar(-1)).numpy() == 0  # not a sentinel
    assert guess("Select", scalar(True, "bool"), count, cap).numpy() == 0       # a known condition picks
    assert guess("Maximum", count, cap, output=untouched) is untouched          # no rule
    vector = Tensor(np.zeros(2, np.int32), "int32")
    assert guess("Minimum", count, cap, output=vector) is vector                # scalars only
    dry.guessing = False
    assert guess("Minimum", count, cap, output=untouched) is untouched          # guesses off


def test_dry_runs_follow_unknown_values_into_containers_and_host_outputs():
    dry = DryRun(pool=None)
    unknown = Tensor(np.zeros(3, np.float32), "float32")
    dry.note_unknown([unknown])
    known = Tensor(np.ones(3, np.float32), "float32")
    shape = Tensor(np.int32([]), "int32")

    def made(op, *inputs, output=None, attrs=None):
        output = output if output is not None else Tensor(np.zeros(3, np.float32), "float32")
        [result] = dry.made(op, list(inputs), [output], attrs)
        return result
    assert not dry.unknown(made("Neg", known))                         # known in, known out
    assert dry.unknown(made("StridedSlice", known, unknown, attrs={}))  # a GL kernel's host output
    listed = made("TensorListFromTensor", unknown, shape, output=TensorList([], (), "float32"))
    assert dry.unknown(listed)                                         # a list holding unknown values
    assert dry.unknown(made("TensorListStack", listed, shape))         # stacks into unknown values
    assert not dry.unknown(made("TensorListLength", listed, output=Tensor(np.int32(0), "int32")))  # its structure
    array = TensorArray(3, "float32", (), False, False, True)
    made("TensorArrayWriteV3", array, Tensor(np.int32(0), "int32"), unknown, known)
    assert dry.unknown(array)                                          # written into


class _Texture:
    """Stands in for a texture a dry run never drew."""

    def release(self) -> None:
        pass


def test_a_dry_run_believes_what_ops_make_of_believed_values_and_only_that():
    dry = DryRun(pool=None)
    feed = _Texture()
    dry.feed(feed, np.float32([[1], [2]]))
    reshaped = Tensor(None, "float32", (1, 2), device=feed)  # a Reshape shares its input's texture
    offsets = Tensor(np.float32([[0, 0], [10, 10]]), "float32")
    drawn = Tensor(None, "float32", (2, 2), device=_Texture())
    dry.made("AddV2", [reshaped, offsets], [drawn], {})              # a GL kernel: computed again on the CPU
    np.testing.assert_array_equal(dry.read(drawn.device_data), [1, 2, 11, 12])
    assert dry.believed(drawn)
    zeros = _Texture()
    dry.feed(zeros, np.zeros(2, np.float32))                          # what a shape given to warmup() stands for
    assert not dry.believed(Tensor(None, "float32", (2,), device=zeros))

    believed_value, unknown = Tensor(np.ones(3, np.float32), "float32"), Tensor(np.ones(3, np.float32), "float32")
    dry.note_unknown([believed_value, unknown])
    dry.believed_values[id(believed_value)] = believed_value
    index, flow = Tensor(np.int32(0), "int32"), Tensor(np.float32(0), "float32")
    array = TensorArray(3, "float32", (), False, False, True)
    dry.made("TensorArrayWriteV3", [array, index, believed_value, flow], [Tensor(np.float32(0), "float32")])
    assert dry.unknown(array) and dry.believed(array)                 # written with believed values
    dry.made("TensorArrayWriteV3", [array, index, unknown, flow], [Tensor(np.float32(0), "float32")])
    assert not dry.believed(array)                                    # then with values no call computes
    sample = Tensor(np.int32([[2]]), "int32")
    dry.made("Multinomial", [believed_value], [sample])
    assert dry.unknown(sample) and not dry.believed(sample)           # another draw every call


def _listing_model() -> GraphModel:
    """z = log(probs[where(stack(list(probs > 0.9)))]): a mask drawn on the GPU, through a TensorList to
    a Where that sizes a gather. Read back as zeros, it keeps nothing."""
    boolean = {"type": "DT_BOOL"}
    nodes = [_node("x", "Placeholder", dtype={"type": "DT_FLOAT"}), _const("high", "DT_FLOAT"),
             _const("scalars", "DT_INT32"), _const("flat", "DT_INT32"), _const("axis", "DT_INT32"),
             _node("probs", "Sigmoid", "x"), _node("mask", "Greater", "probs", "high"),
             _node("listed", "TensorListFromTensor", "mask", "scalars", element_dtype=boolean,
                   shape_type={"type": "DT_INT32"}),
             _node("stacked", "TensorListStack", "listed", "scalars", element_dtype=boolean, num_elements={"i": -1}),
             _node("where", "Where", "stacked", T=boolean), _node("rows", "Reshape", "where", "flat"),
             _node("chosen", "GatherV2", "probs", "rows", "axis"), _node("z", "Log", "chosen")]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"z": {"name": "z:0"}}}}
    weights = {"high": np.float32(0.9), "scalars": np.int32([]), "flat": np.int32([-1]), "axis": np.int32(0)}
    return GraphModel(parse_model_json(data, "."), weights, "webgl")


def test_warmup_compiles_what_a_where_over_a_tensor_list_sizes(webgl, monkeypatch):
    x = np.random.default_rng(8).standard_normal(300).astype(np.float32) * 3
    got, compiled_by_the_call, want = _warmed_and_not(_listing_model, x, monkeypatch)
    assert got.size > 0 and compiled_by_the_call == 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(want, np.log(1 / (1 + np.exp(-x[x > np.log(9)]))), rtol=1e-5, atol=1e-6)


SQUEEZED_WEIGHTS = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)


def _squeezing_model() -> GraphModel:
    """z = reshape(x, ListDiff(shape(x), [1])) @ w: a dynamic-shape op on values the dry run knows."""
    def node(name, op, *inputs, **attr):
        return {"name": name, "op": op, "input": list(inputs), "attr": {"T": {"type": "DT_FLOAT"}, **attr}}
    nodes = [node("x", "Placeholder", dtype={"type": "DT_FLOAT"}),
             {"name": "one", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}}},
             {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             node("shape", "Shape", "x", out_type={"type": "DT_INT32"}),
             node("keep", "ListDiff", "shape", "one", T={"type": "DT_INT32"}, out_idx={"type": "DT_INT32"}),
             node("y", "Reshape", "x", "keep"), node("z", "MatMul", "y", "w")]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"z": {"name": "z:0"}}}}
    weights = {"one": np.int32([1]), "w": SQUEEZED_WEIGHTS}
    return GraphModel(parse_model_json(data, "."), weights, "webgl")


def test_dynamic_shape_ops_on_values_the_dry_run_knows_give_their_own_answer(webgl, caplog):
    """ListDiff of a shape is no selection a stand-in should guess: the dry run takes the real call's path."""
    x = np.random.default_rng(6).standard_normal((40, 1, 3)).astype(np.float32)

    def warmed() -> tuple:
        model = _squeezing_model()
        model.warmup({"x": x.shape})
        made = _gl_stats().programs_made
        return model.predict({"x": x}), _gl_stats().programs_made - made
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call = on_a_thread_of_its_own(warmed)
    assert "failed" not in caplog.text
    assert compiled_by_the_call == 0
    np.testing.assert_allclose(got, x.reshape(40, 3) @ SQUEEZED_WEIGHTS, rtol=1e-5, atol=1e-5)


def test_warmup_makes_as_many_textures_as_a_first_call(webgl, monkeypatch):
    """The LSTM repacks activations step after step: a dry run's twins of its own tensors go with them,
    so the textures it counts as held at once are a real call's (they are not all kept to the end)."""
    from tests.fixtures import layers_sources
    x = layers_sources.inputs_for("lstm")[0][:1]

    def textures_made(warm: bool) -> int:
        monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")
        model = engine.load_model(fixture_path("layers_lstm"), backend=webgl)
        if warm:
            model.warmup(x)
        made = webgl_backend.backend_for_thread().textures.created
        model.predict(x)
        assert not warm or webgl_backend.backend_for_thread().textures.created == made
        return made if warm else webgl_backend.backend_for_thread().textures.created
    assert on_a_thread_of_its_own(lambda: textures_made(True)) == on_a_thread_of_its_own(lambda: textures_made(False))


def test_weights_warmed_on_one_thread_upload_once_on_another(webgl):
    """Kernels read a weight through views (aliases): a thread whose GPU did not upload it finds its own
    upload by the weight's device data, so its later calls (and the plan it records) upload the input only."""
    model = engine.load_graph_model(MOBILENET, backend=webgl)
    on_a_thread_of_its_own(model.warmup)
    x = _image(model)

    def uploads_per_call() -> list[int]:
        stats, counts = _gl_stats(), []
        for _ in range(2):  # the executor's first call, then the call that records the plan
            before = stats.uploads
            model.predict(x)
            counts.append(stats.uploads - before)
        return counts
    first, recording = on_a_thread_of_its_own(uploads_per_call)
    assert first > 1 and recording == 1


def test_layers_model_warmup(backend):
    from tests.fixtures import layers_sources
    x = layers_sources.inputs_for("cnn")[0][:1]  # the default warm-up's batch of one
    warmed = engine.load_model(fixture_path("layers_cnn"), backend=backend, warmup=True)
    made = _gl_stats().programs_made if backend == "webgl" else 0
    got = warmed.predict(x)
    if backend == "webgl":
        assert _gl_stats().programs_made == made
    np.testing.assert_array_equal(got, engine.load_layers_model(fixture_path("layers_cnn"), backend=backend).predict(x))


def _dry_runs_fail(monkeypatch) -> webgl_backend.WebGLBackend:
    """This thread's backend, its compile-only runs failing as a shape zeros make impossible would."""
    from engine.errors import KernelError
    backend = webgl_backend.backend_for_thread()
    real_run_program = backend.run_program

    def failing(*args, **kwargs):
        if backend.compiling_only:
            raise KernelError("a shape zeros make impossible")
        return real_run_program(*args, **kwargs)
    monkeypatch.setattr(backend, "run_program", failing)
    return backend


def test_a_dry_run_that_fails_on_zeros_runs_once_for_real(webgl, monkeypatch, caplog):
    _dry_runs_fail(monkeypatch)
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=webgl)
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        model.warmup()
    assert "running once on the examples instead" in caplog.text
    x = sources.inputs_for("small_cnn")
    np.testing.assert_array_equal(model.predict(x), engine.load_graph_model(fixture_path("small_cnn"),
                                                                            backend=webgl).predict(x))


def _resizing_model() -> GraphModel:
    """exp(resize(x, size)), the output size an input: a value a dry run reads back on the CPU."""
    nodes = [_node("x", "Placeholder", dtype={"type": "DT_FLOAT"}),
             _node("size", "Placeholder", dtype={"type": "DT_INT32"}),
             _node("resized", "ResizeBilinear", "x", "size", align_corners={"b": False},
                   half_pixel_centers={"b": True}),
             _node("y", "Exp", "resized")]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}, "size": {"name": "size:0", "dtype": "DT_INT32"}},
                          "outputs": {"y": {"name": "y:0"}}}}
    return GraphModel(parse_model_json(data, "."), {}, "webgl")


RESIZE_FEEDS = {"x": np.random.default_rng(11).standard_normal((1, 8, 8, 3)).astype(np.float32),
                "size": np.int32([5, 6])}


def test_a_dry_run_reads_a_feed_back_as_its_example_values(webgl, monkeypatch, caplog):
    examples = {"x": RESIZE_FEEDS["x"].shape, "size": RESIZE_FEEDS["size"]}
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call, want = _warmed_and_not(_resizing_model, RESIZE_FEEDS, monkeypatch, examples)
    assert "failed" not in caplog.text  # zeros would size the resize 0 x 0
    assert compiled_by_the_call == 0
    assert got.shape == (1, 5, 6, 3)
    np.testing.assert_array_equal(got, want)


def _scaled_resizing_model() -> GraphModel:
    """exp(resize(x, int(base * ratio))), the ratio an input (RVM's downsample_ratio): the size is
    multiplied on the GPU, and read back on the CPU."""
    floats = {"type": "DT_FLOAT"}
    nodes = [_node("x", "Placeholder", dtype=floats), _node("ratio", "Placeholder", dtype=floats),
             _const("base", "DT_FLOAT"), _node("scaled", "Mul", "base", "ratio"),
             _node("size", "Cast", "scaled", SrcT=floats, DstT={"type": "DT_INT32"}),
             _node("resized", "ResizeBilinear", "x", "size", align_corners={"b": False},
                   half_pixel_centers={"b": True}),
             _node("y", "Exp", "resized")]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}, "ratio": {"name": "ratio:0"}},
                          "outputs": {"y": {"name": "y:0"}}}}
    return GraphModel(parse_model_json(data, "."), {"base": np.float32([10, 12])}, "webgl")


def test_a_dry_run_computes_what_the_gpu_makes_of_a_feed_it_reads_back(webgl, monkeypatch, caplog):
    feeds = {"x": RESIZE_FEEDS["x"], "ratio": np.float32(0.5)}
    examples = {"x": feeds["x"].shape, "ratio": feeds["ratio"]}
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call, want = _warmed_and_not(_scaled_resizing_model, feeds, monkeypatch, examples)
    assert "failed" not in caplog.text  # the size read back as zeros would resize to 0 x 0
    assert compiled_by_the_call == 0
    assert got.shape == (1, 5, 6, 3)
    np.testing.assert_array_equal(got, want)


def _capped_tail_model() -> GraphModel:
    """x[:min(count, 7) - 1]: the guess for the capped count, then a subtraction on the GPU."""
    return _count_model([
        _const("cap", "DT_INT32"), _const("one", "DT_INT32"), _node("capped", "Minimum", "count", "cap", **_INT32),
        _node("last", "Sub", "capped", "one", **_INT32),
        _node("first", "Range", "start", "last", "step", Tidx={"type": "DT_INT32"}),
        _node("picked", "GatherV2", "x", "first", "axis"), _node("y", "Exp", "picked"),
    ], {"cap": np.int32(7), "one": np.int32(1)}, ("y",))


def test_a_guess_carries_through_gpu_arithmetic(webgl, monkeypatch, caplog):
    x = np.random.default_rng(12).standard_normal(300).astype(np.float32)
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, compiled_by_the_call, want = _warmed_and_not(_capped_tail_model, x, monkeypatch)
    assert "failed" not in caplog.text and compiled_by_the_call == 0
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(want, np.exp(x[:6]), rtol=1e-6)


def test_a_first_call_compiles_ahead_on_its_own_feed_values(webgl, monkeypatch, caplog):
    def first_call() -> tuple:
        model = _resizing_model()
        drawn = _gl_stats().dry_draws
        return model.predict(RESIZE_FEEDS), _gl_stats().dry_draws - drawn
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got, dry_draws = on_a_thread_of_its_own(first_call)
    assert "failed" not in caplog.text and dry_draws > 0
    monkeypatch.setenv("TFGL_COMPILE_AHEAD", "0")
    np.testing.assert_array_equal(got, on_a_thread_of_its_own(lambda: _resizing_model().predict(RESIZE_FEEDS)))


def test_warmup_falls_back_to_a_real_run_on_the_examples_given(webgl, monkeypatch, caplog):
    _dry_runs_fail(monkeypatch)
    model = _resizing_model()
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        model.warmup({"x": RESIZE_FEEDS["x"].shape, "size": RESIZE_FEEDS["size"]})
    assert "running once on the examples instead" in caplog.text
    made = _gl_stats().programs_made
    got = model.predict(RESIZE_FEEDS)
    assert _gl_stats().programs_made == made
    np.testing.assert_array_equal(got, _resizing_model().predict(RESIZE_FEEDS))


def test_warmup_on_zeros_a_model_cannot_run_on_says_to_give_examples(webgl):
    with pytest.raises(InputError, match=r"cannot run on its warm-up inputs .* output dimensions must be "
                                         r"positive\); where an input's values size the work, give warmup\(\) "
                                         r"an example array"):
        _resizing_model().warmup({"x": RESIZE_FEEDS["x"].shape, "size": (2,)})


def _warm_in_a_new_thread(model, threads: str, monkeypatch) -> dict:
    """Warms `model` up on a fresh backend with TFGL_WARMUP_THREADS=threads; its stats, main context's
    error, and the worker runs (jobs, threads, succeeded). Without program binaries: a program loaded
    from one is never sent to the workers (its JIT output is cached beside it), and earlier tests
    stored every one of these."""
    from engine.webgl import parallel_jit, shader_cache
    monkeypatch.setenv("TFGL_WARMUP_THREADS", threads)
    monkeypatch.setattr(shader_cache, "_programs", None)
    runs, real_run = [], parallel_jit.run

    def spy(jobs, count):
        times = real_run(jobs, count)
        runs.append((len(jobs), count, all(ms is not None and ms > 0 for ms in times)))
        return times
    monkeypatch.setattr(parallel_jit, "run", spy)

    def warm():
        backend = webgl_backend.backend_for_thread()
        model.warmup()
        with backend.current():
            error = backend.ctx.error
        return backend.stats.as_dict(), error
    stats, error = on_a_thread_of_its_own(warm)
    return {"stats": stats, "error": error, "runs": runs}


def _parallel_possible() -> bool:
    return webgl_backend.backend_for_thread()._parallel_jit


def test_parallel_warmup_is_bit_identical_to_serial_and_to_none(webgl, monkeypatch):
    """Worker threads JIT the programs on contexts of their own; the main context then draws each once."""
    model = engine.load_graph_model(MOBILENET, backend=webgl)
    x = _image(model, 2)
    fresh = model.predict(x)
    outputs = {}
    for threads in ("1", "2"):
        warmed = engine.load_graph_model(MOBILENET, backend=webgl)
        report = _warm_in_a_new_thread(warmed, threads, monkeypatch)
        stats = report["stats"]
        assert report["error"] == "GL_NO_ERROR"
        made = stats["programs_compiled"] + stats["programs_loaded"]
        assert stats["dry_draws"] == made == len(stats["program_compiles"])
        if threads == "2" and _parallel_possible():
            assert report["runs"] == [(stats["dry_draws"], 2, True)]  # every worker made its context, no GL error
        else:
            assert report["runs"] == []
        outputs[threads] = [warmed.predict(x) for _ in range(3)]  # executor, recording, replay
    assert not [t for t in threading.enumerate() if t.name.startswith("tfgl-jit")]
    for y in outputs["1"] + outputs["2"]:
        np.testing.assert_array_equal(y, fresh)


def test_a_failing_worker_leaves_the_work_to_the_main_context(webgl, monkeypatch, caplog):
    from engine.errors import GLError
    from engine.webgl import parallel_jit

    def no_context():
        raise GLError("no context for this worker")
    monkeypatch.setattr(parallel_jit, "create_context", no_context)
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=webgl)
    with caplog.at_level(logging.INFO, logger="tfgl.webgl"):
        report = _warm_in_a_new_thread(model, "2", monkeypatch)
    if _parallel_possible():
        assert report["runs"] and not report["runs"][0][2]
        assert "parallel JIT failed (no context for this worker)" in caplog.text
    stats = report["stats"]
    assert report["error"] == "GL_NO_ERROR" and stats["dry_draws"] == len(stats["program_compiles"]) > 0
    x = sources.inputs_for("small_cnn")
    np.testing.assert_array_equal(model.predict(x), engine.load_graph_model(fixture_path("small_cnn"),
                                                                            backend=webgl).predict(x))


def test_warmup_threads_setting(monkeypatch):
    from engine.webgl import parallel_jit
    monkeypatch.setenv("TFGL_WARMUP_THREADS", "3")
    assert parallel_jit.threads_for(36) == 3 and parallel_jit.threads_for(2) == 2 and parallel_jit.threads_for(1) == 0
    for serial in ("0", "1"):
        monkeypatch.setenv("TFGL_WARMUP_THREADS", serial)
        assert parallel_jit.threads_for(36) == 0
    monkeypatch.setenv("TFGL_WARMUP_THREADS", "16")
    assert parallel_jit.threads_for(36) == parallel_jit.MAX_THREADS


def test_program_cache_off_warms_up_serially(tmp_path, webgl):
    """Without the driver cache workers would JIT everything a second time: the main context JITs alone."""
    import subprocess
    import sys

    from tests.test_shader_cache import ROOT, fresh_environment
    script = ("import engine, sys; m = engine.load_graph_model(sys.argv[1], backend='webgl'); m.warmup(); "
              "print(m.backend._parallel_jit, m.backend.stats.dry_draws)")
    result = subprocess.run([sys.executable, "-c", script, fixture_path("small_cnn")], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env=fresh_environment(tmp_path, TFGL_PROGRAM_CACHE="0",
                                                                          TFGL_WARMUP_THREADS="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    parallel, draws = result.stdout.split()
    assert parallel == "False" and int(draws) > 0


def _first_call_in_a_new_thread(model, x, monkeypatch, compile_ahead: str = "1", warm_first: bool = False) -> dict:
    """`model`'s first call (after a warmup() if `warm_first`) on a fresh backend, programs compiled from
    source (see _warm_in_a_new_thread); its stats after the call, the worker runs and three calls' outputs."""
    from engine.webgl import parallel_jit, shader_cache
    monkeypatch.setenv("TFGL_COMPILE_AHEAD", compile_ahead)
    monkeypatch.setenv("TFGL_WARMUP_THREADS", "2")
    monkeypatch.setattr(shader_cache, "_programs", None)
    runs, real_run = [], parallel_jit.run

    def spy(jobs, count):
        runs.append(len(jobs))
        return real_run(jobs, count)
    monkeypatch.setattr(parallel_jit, "run", spy)

    def call():
        if warm_first:
            model.warmup({model.inputs[0].name: x.shape})
        before = _gl_stats().as_dict()
        first = model.predict(x)
        stats = _gl_stats().as_dict()
        return before, stats, [first] + [model.predict(x) for _ in range(2)]
    before, stats, outputs = on_a_thread_of_its_own(call)
    return {"before": before, "stats": stats, "runs": list(runs), "outputs": outputs}


def test_a_first_call_compiles_ahead_in_parallel_with_the_same_bits(webgl, monkeypatch):
    x = _image(engine.load_graph_model(MOBILENET, backend="cpu"), 3)
    plain = _first_call_in_a_new_thread(engine.load_graph_model(MOBILENET, backend=webgl), x, monkeypatch, "0")
    ahead = _first_call_in_a_new_thread(engine.load_graph_model(MOBILENET, backend=webgl), x, monkeypatch)
    assert plain["stats"]["dry_draws"] == 0 and plain["runs"] == []
    made = ahead["stats"]["programs_compiled"]
    assert made == plain["stats"]["programs_compiled"] > 0
    assert ahead["stats"]["dry_draws"] == made  # one one-pixel draw per program, before the call's own draws
    assert ahead["stats"]["draws"] == plain["stats"]["draws"]  # the call itself ran once
    if _parallel_possible():
        assert ahead["runs"] == [made]
    for got, want in zip(ahead["outputs"], plain["outputs"]):  # executor, recording, replay
        np.testing.assert_array_equal(got, want)


def test_a_first_call_after_warmup_does_not_compile_ahead_again(webgl, monkeypatch):
    model = engine.load_graph_model(MOBILENET, backend=webgl)
    report = _first_call_in_a_new_thread(model, _image(model, 4), monkeypatch, warm_first=True)
    assert report["before"]["dry_draws"] > 0
    assert report["stats"]["dry_draws"] == report["before"]["dry_draws"]
    assert report["stats"]["programs_compiled"] == report["before"]["programs_compiled"] > 0


def test_a_first_call_whose_dry_run_fails_runs_once(webgl, monkeypatch, caplog):
    x = sources.inputs_for("small_cnn")
    want = engine.load_graph_model(fixture_path("small_cnn"), backend="cpu").predict(x)
    backend = _dry_runs_fail(monkeypatch)
    monkeypatch.setattr(backend, "_parallel_jit", True)  # so this backend compiles ahead wherever it runs
    monkeypatch.setenv("TFGL_WARMUP_THREADS", "2")
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=webgl)
    draws = backend.stats.draws
    with caplog.at_level(logging.INFO, logger="tfgl.warmup"):
        got = model.predict(x)
    assert "compiling as it runs" in caplog.text
    once = backend.stats.draws - draws
    model.predict(x)  # the second call runs the same draws (recording them)
    assert backend.stats.draws - draws == 2 * once
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_programs_from_binaries_are_not_sent_to_the_workers(tmp_path, webgl):
    """A second process's warm-up loads every program from its binary: no worker runs, no program
    compiles from source."""
    import json
    import subprocess
    import sys

    from tests.test_shader_cache import ROOT, fresh_environment
    script = ("import engine, json, sys; from engine.webgl import parallel_jit; runs = []; real = parallel_jit.run\n"
              "parallel_jit.run = lambda jobs, n: runs.append(len(jobs)) or real(jobs, n)\n"
              "m = engine.load_graph_model(sys.argv[1], backend='webgl'); m.warmup(); s = m.backend.stats\n"
              "print(json.dumps([m.backend._parallel_jit, runs, s.programs_compiled, s.programs_loaded]))")
    env = fresh_environment(tmp_path, TFGL_WARMUP_THREADS="2")
    reports = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script, fixture_path("small_cnn")], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        reports.append(json.loads(result.stdout.splitlines()[-1]))
    (parallel, cold_runs, compiled, _), (_, warm_runs, warm_compiled, loaded) = reports
    if parallel:
        assert cold_runs == [compiled] and compiled > 0
    assert warm_runs == [] and warm_compiled == 0 and loaded == compiled


def test_a_first_call_on_cached_programs_stops_its_dry_run_early(tmp_path, webgl):
    """A second process's first call finds its programs in the binaries: the dry run stops after a few
    (LOADED_PROGRAMS_TO_STOP), the call loads the rest, and the outputs are the first process's bits."""
    import json
    import subprocess
    import sys

    from engine.backends.webgl.dry_run import LOADED_PROGRAMS_TO_STOP
    from tests.test_shader_cache import ROOT, fresh_environment
    script = ("import engine, json, sys, numpy as np\n"
              "m = engine.load_graph_model(sys.argv[1], backend='webgl')\n"
              "x = np.random.default_rng(5).standard_normal((1, *m.inputs[0].shape[1:])).astype(np.float32)\n"
              "y = m.predict(x); s = m.backend.stats\n"
              "print(json.dumps([s.dry_draws, s.programs_compiled, s.programs_loaded, y.tobytes().hex()]))")
    env = fresh_environment(tmp_path, TFGL_WARMUP_THREADS="2", TFGL_COMPILE_AHEAD="1")
    reports = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", script, MOBILENET], cwd=ROOT, capture_output=True,
                                text=True, timeout=180, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        reports.append(json.loads(result.stdout.splitlines()[-1]))
    (cold_dry, compiled, _, cold_output), (warm_dry, warm_compiled, loaded, warm_output) = reports
    assert compiled > LOADED_PROGRAMS_TO_STOP and warm_compiled == 0 and loaded == compiled
    if cold_dry:  # the cold process compiled ahead (parallel JIT possible here): one dry draw a program
        assert cold_dry >= compiled
    assert warm_dry < LOADED_PROGRAMS_TO_STOP
    assert warm_output == cold_output


def test_a_dry_run_stops_on_cached_programs_only_while_none_compiles():
    """Counted from the backend's totals when the walk began (programs linked before it do not count)."""
    from engine.backends.webgl.dry_run import LOADED_PROGRAMS_TO_STOP, DryRun, ProgramsAreCached
    stats = Stats(programs_loaded=5, programs_compiled=2)
    walk = DryRun(pool=None, stop_when_cached=True, linked_before=(5, 2))
    for _ in range(LOADED_PROGRAMS_TO_STOP - 1):
        stats.programs_loaded += 1
        walk.check_cached(stats)
    stats.programs_loaded += 1
    with pytest.raises(ProgramsAreCached):
        walk.check_cached(stats)
    walk = DryRun(pool=None, stop_when_cached=True, linked_before=(stats.programs_loaded, 2))
    stats.programs_compiled += 1  # one program to JIT: the workers are worth the walk
    walk.check_cached(stats)
    for _ in range(3 * LOADED_PROGRAMS_TO_STOP):
        stats.programs_loaded += 1
        walk.check_cached(stats)
    warmup = DryRun(pool=None, linked_before=(0, 0))  # warmup() walks everything
    for _ in range(3 * LOADED_PROGRAMS_TO_STOP):
        stats.programs_loaded += 1
        warmup.check_cached(stats)
