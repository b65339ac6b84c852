"""Official-converter fixtures run on every backend and match TensorFlow:
max |error| <= 1e-4 * max |reference| for float32 models."""
import numpy as np
import pytest

import engine
from tests.conftest import fixture_path
from tests.fixtures import sources

pytestmark = pytest.mark.tf

FLOAT_FIXTURES = {
    "small_cnn": "small_cnn",
    "mobilenet_v2": "mobilenet_v2",
    "lstm_cf1": "lstm",
    "lstm_cf2": "lstm",
    "loop_cf1": "loop",
    "loop_cf2": "loop",
}
TOLERANCE = 1e-4


def assert_matches(got: dict, reference: dict, tolerance: float = TOLERANCE) -> None:
    assert set(got) == set(reference)
    for key, want in reference.items():
        assert got[key].shape == want.shape, key
        scale = np.abs(want).max()
        error = np.abs(got[key] - want).max()
        assert error <= tolerance * scale, f"{key}: max error {error:.3g} > {tolerance} * {scale:.3g}"


def predict_dict(model, inputs) -> dict:
    result = model.predict(inputs)
    return result if isinstance(result, dict) else {model.outputs[0].name: result}


@pytest.mark.parametrize("fixture", sorted(FLOAT_FIXTURES))
def test_official_fixture_matches_tensorflow(fixture, backend, saved_models):
    source = FLOAT_FIXTURES[fixture]
    inputs = sources.inputs_for(source)
    reference = sources.tensorflow_outputs(saved_models(source), inputs)
    model = engine.load_graph_model(fixture_path(fixture), backend=backend)
    assert_matches(predict_dict(model, inputs), reference)


@pytest.mark.parametrize("fixture", ["loop_cf1", "loop_cf2"])
@pytest.mark.parametrize("iterations", [0, 1, 7])
def test_loop_iteration_counts(fixture, iterations, backend, saved_models):
    inputs = dict(sources.inputs_for("loop", batch=3), n=np.int32(iterations))
    reference = sources.tensorflow_outputs(saved_models("loop"), inputs)
    model = engine.load_graph_model(fixture_path(fixture), backend=backend)
    assert_matches(predict_dict(model, inputs), reference)


@pytest.mark.parametrize("fixture", ["mobilenet_v2_uint8", "mobilenet_v2_uint16", "mobilenet_v2_float16"])
def test_quantized_fixture(fixture, backend, saved_models):
    """The engine computes exactly what the dequantized weights give (TensorFlow running the same
    graph with the same weights, within 1e-4); what remains against the float model is the
    quantization error itself, which TensorFlow shows too."""
    from converter.reverse import run_graph_model_in_tensorflow
    inputs = sources.inputs_for("mobilenet_v2")
    dequantized_reference = run_graph_model_in_tensorflow(fixture_path(fixture), inputs)
    model = engine.load_graph_model(fixture_path(fixture), backend=backend)
    got = predict_dict(model, inputs)
    assert_matches(got, dequantized_reference)
    float_reference = sources.tensorflow_outputs(saved_models("mobilenet_v2"), inputs)["output_0"]
    quantization_error = np.abs(dequantized_reference["output_0"] - float_reference).max()
    assert quantization_error > 0  # the weights really are quantized
    engine_error = np.abs(got["output_0"] - float_reference).max()
    assert engine_error <= quantization_error + TOLERANCE * np.abs(float_reference).max()


def test_model_metadata_and_signature():
    model = engine.load_graph_model(fixture_path("loop_cf1"), backend="cpu")
    assert {i.name for i in model.inputs} == {"x", "n"}
    x = next(i for i in model.inputs if i.name == "x")
    assert x.shape == (None, 4) and x.dtype == "float32" and x.tensor == "x:0"
    n = next(i for i in model.inputs if i.name == "n")
    assert n.shape == () and n.dtype == "int32"
    assert {o.name for o in model.outputs} == {"result", "total"}
