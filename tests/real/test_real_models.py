"""Real TF.js models from npm packages against TF.js itself (@tensorflow/tfjs in node, CPU
backend; 4.22, or the version a model's package bundles where 4.22 cannot run it), on every tfgl
backend: max |error| <= 1e-3 * max |reference| per output; outputs that come after a
NonMaxSuppression op are compared as sets of detections (their order is not part of the contract).
Text models take batches of texts; those TF.js mangles (catalog's `past_tfjs`) are compared with
TensorFlow only.

Conditioning: an output that misses 1e-3 is accepted only if it is ill-conditioned at float32
precision, i.e. moving the input by one ulp alone (with tfgl's CPU backend) moves that output by
at least a quarter of the tolerance; then the bound is four times that sensitivity. BlazePose's
segmentation masks (a sigmoid over logits in the hundreds) are the case: one ulp moves them by
6e-4 to 9e-4, and TensorFlow and TF.js disagree there by up to 1.1e-3 themselves."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import engine
from engine.graph.graph import parse_tensor_name
from tests.real import npm
from tests.real.catalog import MODELS, RealModel, Texts
from tests.real.reference import tfjs_outputs

pytestmark = [pytest.mark.real, pytest.mark.node]
TOLERANCE = 1e-3


def model_path(model: RealModel):
    path = npm.package_dir(model.package, model.version) / model.path
    return npm.unwrapped(path) if model.wrapped else path


GRAPH_MODELS = [m for m in MODELS if m.format == "graph"]
LAYERS_MODELS = [m for m in MODELS if m.format == "layers"]


def after_nms(graph, tensor_name: str) -> bool:
    """Whether a NonMaxSuppression op feeds this tensor, directly or not."""
    seen, stack = set(), [parse_tensor_name(tensor_name)[0]]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.nodes[name]
        if node.op.startswith("NonMaxSuppression"):
            return True
        stack.extend(source for source, _ in node.inputs)
    return False


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    finite = np.isfinite(want)
    if not finite.any():
        return 0.0
    scale = max(np.abs(want[finite]).max(), 1e-30)
    return float(np.abs(got[finite].astype(np.float64) - want[finite]).max() / scale)


def assert_close(got: np.ndarray, want: np.ndarray, what: str, sensitivity=None) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != TF.js {want.shape}"
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{what}: NaN positions differ"
    error = relative_error(got, want)
    if error <= TOLERANCE:
        return
    moved = sensitivity() if sensitivity is not None else 0.0
    assert moved >= TOLERANCE / 4, \
        f"{what}: max error {error:.3g} of max |TF.js| (a one-ulp input change moves it only {moved:.3g})"
    assert error <= 4 * moved, f"{what}: max error {error:.3g} > 4 x its one-ulp sensitivity {moved:.3g}"


def ulp_sensitivity(path, inputs: dict[str, np.ndarray], names: list[str], trials: int = 3) -> dict[str, float]:
    """Largest relative change of each output when every float input moves by one ulp (random
    direction per element), run on the CPU backend."""
    model = engine.load_graph_model(path, backend="cpu")
    base = model.execute(inputs, names)
    rng = np.random.default_rng(0)
    worst = dict.fromkeys(names, 0.0)
    for _ in range(trials):
        moved = {}
        for key, value in inputs.items():
            if value.dtype != np.float32:
                moved[key] = value
                continue
            up = rng.random(value.shape) < 0.5
            moved[key] = np.where(up, np.nextafter(value, np.float32(np.inf)),
                                  np.nextafter(value, np.float32(-np.inf))).astype(np.float32)
        for name, new, old in zip(names, model.execute(moved, names), base):
            if old.dtype.kind == "f":
                worst[name] = max(worst[name], relative_error(new, old))
    return worst


def assert_same_detections(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Rows along the detection axis (axis 1, or 0 for vectors) match one to one, in any order."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != TF.js {want.shape}"
    axis = 1 if want.ndim >= 2 else 0
    rows_got = np.moveaxis(got, axis, 0).reshape(got.shape[axis], -1).astype(np.float64)
    rows_want = np.moveaxis(want, axis, 0).reshape(want.shape[axis], -1).astype(np.float64)
    scale = max(np.abs(rows_want).max(initial=0.0), 1e-30)
    free = list(range(len(rows_got)))
    for index, row in enumerate(rows_want):
        distances = [np.abs(rows_got[i] - row).max() for i in free]
        best = int(np.argmin(distances)) if distances else -1
        assert distances and distances[best] <= TOLERANCE * scale, \
            f"{what}: TF.js detection {index} {row[:6]} has no match within {TOLERANCE} * {scale:.3g}"
        free.pop(best)


def assert_replays(model, call, first: list, strings: bool = False) -> None:
    """On the WebGL backend, the second call records and the third replays (every model of the suite
    with numeric inputs can), giving the first call's results bit for bit. A string input never goes
    to the GPU, so a text model's calls are not recorded (and say why): they give the same results
    through the executor."""
    if model.backend.name != "webgl":
        return
    call()
    model.replays.last = None
    replayed = call()
    if strings:
        assert model.replays.last is None and "a dtype textures cannot hold" in (model.replays.void_reason or "")
    else:
        assert model.replays.last is not None, f"not replayed: {model.replays.void_reason}"
    for got, want in zip(replayed, first):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("model", GRAPH_MODELS, ids=lambda m: m.id)
def test_matches_tfjs(model: RealModel, backend, no_string_uploads):
    path = model_path(model)
    loaded = engine.load_graph_model(path, backend=backend)
    inputs = {spec.name: spec.values() for spec in model.inputs}
    names = [info.tensor for info in loaded.outputs]
    reference = tfjs_outputs(path, inputs, names, tfjs=model.tfjs)
    got = loaded.execute(inputs, names)
    strings = any(value.dtype == object for value in inputs.values())
    assert_replays(loaded, lambda: loaded.execute(inputs, names), got, strings)
    sensitivity = functools.cache(lambda: ulp_sensitivity(path, inputs, names))
    rows = tfjs_rows(model)
    for name, value in zip(names, got):
        what = f"{model.id} {name} on {backend}"
        if after_nms(loaded.graph, name):
            assert_same_detections(value, reference[name], what)
        else:
            assert_close(value[:rows], reference[name][:rows], what, lambda name=name: sensitivity()[name])
    for row in range(rows, len(got[0])) if rows is not None else ():
        assert any(not np.array_equal(value[row], reference[name][row]) for name, value in zip(names, got)), \
            f"{model.id}: TF.js gives tfgl's outputs for text {row}, listed as one TF.js cannot be the reference for"


def tfjs_rows(model: RealModel) -> int | None:
    """How many rows (axis 0 of inputs and outputs) TF.js is the reference for: a text model's texts
    up to its `past_tfjs` ones (TensorFlow checks those: test_back_to_a_saved_model_tensorflow_serves);
    None: all."""
    past = [spec for spec in model.inputs if isinstance(spec, Texts) and spec.past_tfjs]
    return len(past[0].texts) if past else None


def test_catalog_spans_packages_formats_and_quantizations():
    assert len(MODELS) >= 30
    assert len({m.package for m in MODELS}) >= 2
    assert {"float32", "float16", "uint8"} <= {m.weights for m in GRAPH_MODELS}
    assert {"float32", "uint8"} <= {m.weights for m in LAYERS_MODELS}
    assert any(isinstance(spec, Texts) for m in GRAPH_MODELS for spec in m.inputs)  # a text model


@pytest.mark.parametrize("model", LAYERS_MODELS, ids=lambda m: m.id)
def test_layers_model_matches_tfjs(model: RealModel, backend):
    path = model_path(model)
    loaded = engine.load_layers_model(path, backend=backend)
    inputs = [spec.values() for spec in model.inputs]
    reference = tfjs_outputs(path, {spec.name: value for spec, value in zip(model.inputs, inputs)}, fmt="layers",
                             tfjs=model.tfjs)
    got = loaded.execute(inputs)
    assert_replays(loaded, lambda: loaded.execute(inputs), got)
    assert len(got) == len(reference)
    for index, value in enumerate(got):
        assert_close(value, reference[str(index)], f"{model.id} output {index} on {backend}")


@pytest.mark.tf
@pytest.mark.converter
@pytest.mark.parametrize("model", GRAPH_MODELS, ids=lambda m: m.id)
def test_back_to_a_saved_model_tensorflow_serves(model: RealModel, tmp_path):
    """tfjs_graph_model -> tf_saved_model on real models (fused TF.js ops expanded): TensorFlow
    serves what tfgl computes, under the same comparison rules as above. Grappler is off while
    serving: its constant folding rounds weights differently, which some heads amplify (CenterNet's
    box sizes move by 3.5e-3), and the test is about the ops the SavedModel holds."""
    import tensorflow as tf

    from converter.reverse import signature_key, to_saved_model
    path = model_path(model)
    to_saved_model(str(path), str(tmp_path / "saved_model"))
    serving = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    loaded = engine.load_graph_model(path, backend="cpu")
    inputs = {spec.name: spec.values() for spec in model.inputs}
    arguments = serving.structured_input_signature[1]
    feeds = {}
    for info in loaded.inputs:
        key = signature_key(info.name)
        feeds[key] = tf.constant(inputs[info.tensor.split(":")[0]].astype(arguments[key].dtype.as_numpy_dtype))
    options = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        served = {key: value.numpy() for key, value in serving(**feeds).items()}
    finally:
        tf.config.optimizer.set_experimental_options(options)
    names = [info.tensor for info in loaded.outputs]
    sensitivity = functools.cache(lambda: ulp_sensitivity(path, inputs, names))
    for info, name, value in zip(loaded.outputs, names, loaded.execute(inputs, names)):
        what = f"{model.id} {name} back in TensorFlow"
        want = served[signature_key(info.name)].astype(value.dtype)
        if after_nms(loaded.graph, name):
            assert_same_detections(value, want, what)
        else:
            assert_close(value, want, what, lambda name=name: sensitivity()[name])
