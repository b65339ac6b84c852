"""Interop the other way round: TF.js itself (in node) loads what tfgl's converter writes, and
gives the outputs tfgl's engine gives (max |error| <= 1e-4 * max |output|)."""
from pathlib import Path

import numpy as np
import pytest

import engine
from tests.fixtures import sources
from tests.real.reference import tfjs_outputs

pytestmark = [pytest.mark.real, pytest.mark.node, pytest.mark.converter, pytest.mark.tf]

CASES = [
    ("small_cnn", []),
    ("mobilenet_v2", []),
    ("mobilenet_v2", ["--quantize_uint8"]),
    ("mobilenet_v2", ["--quantize_uint16"]),
    ("mobilenet_v2", ["--quantize_float16"]),
    ("loop", ["--control_flow_v2=true"]),
    ("loop", []),
]


@pytest.mark.parametrize("source,flags", CASES, ids=lambda v: v if isinstance(v, str) else " ".join(v) or "default")
def test_tfjs_runs_what_tfgl_converts(source, flags, saved_models, tmp_path, backend):
    from engine.cli import main
    out = tmp_path / "web_model"
    assert main(["convert", saved_models(source), str(out), *flags]) == 0
    model = engine.load_graph_model(str(out), backend=backend)
    inputs = sources.inputs_for(source)
    feeds = {info.tensor.split(":")[0]: np.asarray(inputs[info.name]) for info in model.inputs}
    names = [info.tensor for info in model.outputs]
    reference = tfjs_outputs(out / "model.json", feeds, names)
    for name, got in zip(names, model.execute(inputs, names)):
        want = reference[name]
        assert got.shape == want.shape, name
        scale = np.abs(want).max()
        assert np.abs(got - want).max() <= 1e-4 * scale, f"{source} {flags} {name}: TF.js and tfgl differ"


@pytest.mark.parametrize("fixture,flags", [("lstm_cf1", []), ("lstm_cf2", ["--control_flow_v2=true"])])
def test_tfjs_fails_on_keras_lstms_whoever_converts_them(fixture, flags, saved_models, tmp_path):
    """TF.js 4.22 cannot run a Keras 3 LSTM graph (v1: executeAsync never schedules the loop; v2:
    an internal TypeError): the official converter's output fails the same way as tfgl's, so the
    LSTMs are checked against TensorFlow instead (tests/test_models.py)."""
    from engine.cli import main

    from tests.conftest import fixture_path
    out = tmp_path / "web_model"
    assert main(["convert", saved_models("lstm"), str(out), *flags]) == 0
    feeds = {"sequence": sources.inputs_for("lstm")["sequence"]}
    errors = []
    for path in (fixture_path(fixture), out / "model.json"):
        with pytest.raises(RuntimeError) as failure:
            tfjs_outputs(Path(path), feeds, ["Identity:0"])
        errors.append(str(failure.value).strip().splitlines()[-1])
    assert errors[0] == errors[1]


@pytest.mark.parametrize("name", ["cnn", "lstm", "mlp"])
def test_tfjs_runs_layers_models_tfgl_converts(name, tmp_path, backend):
    """Keras 2 .h5 -> `tfgl convert` -> tfjs_layers_model: TF.js's loadLayersModel runs it, with the
    engine's outputs (TF.js 4.22 cannot read Keras 3 configs at all, whoever converts them)."""
    from engine.cli import main
    from tests.fixtures import layers_sources
    h5 = layers_sources.save_h5(name, "2", str(tmp_path / "model.h5"))
    out = tmp_path / "web_model"
    assert main(["convert", h5, str(out), "--input_format=keras"]) == 0
    model = engine.load_layers_model(str(out), backend=backend)
    inputs = layers_sources.inputs_for(name)
    reference = tfjs_outputs(out / "model.json", {info.name: x for info, x in zip(model.inputs, inputs)},
                             fmt="layers")
    for index, got in enumerate(model.execute(inputs)):
        want = reference[str(index)]
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), f"{name} output {index}"
