"""tfjs_graph_model -> TensorFlow (beyond the official converter): TF.js-only fused ops expanded back
into TensorFlow ops, so TensorFlow loads and serves the result as a SavedModel or a frozen .pb."""
import numpy as np
import pytest

import engine
from converter.reverse import to_saved_model
from tests.conftest import fixture_path
from tests.fixtures import sources
from tests.test_models import assert_matches

pytestmark = [pytest.mark.tf, pytest.mark.converter]

FIXTURES = {"small_cnn": "small_cnn", "mobilenet_v2": "mobilenet_v2", "lstm_cf1": "lstm", "lstm_cf2": "lstm",
            "loop_cf1": "loop", "loop_cf2": "loop"}


def serve(folder: str, inputs: dict) -> dict:
    import tensorflow as tf
    function = tf.saved_model.load(folder).signatures["serving_default"]
    return {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


@pytest.mark.parametrize("fixture", sorted(FIXTURES))
def test_official_graph_model_back_to_a_saved_model(fixture, saved_models, tmp_path):
    source = FIXTURES[fixture]
    to_saved_model(fixture_path(fixture), str(tmp_path / "saved_model"))
    inputs = sources.inputs_for(source)
    assert_matches(serve(str(tmp_path / "saved_model"), inputs),
                   sources.tensorflow_outputs(saved_models(source), inputs))


@pytest.mark.parametrize("fixture", ["mobilenet_v2_uint8", "mobilenet_v2_float16"])
def test_quantized_graph_model_serves_its_dequantized_weights(fixture, tmp_path):
    to_saved_model(fixture_path(fixture), str(tmp_path / "saved_model"))
    inputs = sources.inputs_for("mobilenet_v2")
    engine_outputs = engine.load_graph_model(fixture_path(fixture), backend="cpu").predict(inputs)
    assert_matches(serve(str(tmp_path / "saved_model"), inputs), {"output_0": engine_outputs})


@pytest.mark.parametrize("source", ["small_cnn", "loop"])
def test_round_trip_saved_model_graph_model_saved_model(source, saved_models, tmp_path):
    """Both directions through `tfgl convert`: SavedModel -> graph model -> SavedModel."""
    from engine.cli import main
    assert main(["convert", saved_models(source), str(tmp_path / "web")]) == 0
    assert main(["convert", str(tmp_path / "web"), str(tmp_path / "back"), "--input_format=tfjs_graph_model",
                 "--output_format=tf_saved_model"]) == 0
    inputs = sources.inputs_for(source)
    assert_matches(serve(str(tmp_path / "back"), inputs), sources.tensorflow_outputs(saved_models(source), inputs))


def test_frozen_graph(saved_models, tmp_path):
    import tensorflow as tf

    from engine.cli import main
    path = str(tmp_path / "frozen.pb")
    assert main(["convert", fixture_path("mobilenet_v2"), path, "--input_format=tfjs_graph_model",
                 "--output_format=tf_frozen_model"]) == 0
    graph_def = tf.compat.v1.GraphDef.FromString(open(path, "rb").read())
    assert not {"_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul", "Prelu"} & {n.op for n in graph_def.node}
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    inputs = sources.inputs_for("mobilenet_v2")
    with tf.compat.v1.Session(graph=graph) as session:
        got = session.run("Identity:0", {"image:0": inputs["image"]})
    want = sources.tensorflow_outputs(saved_models("mobilenet_v2"), inputs)["output_0"]
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
