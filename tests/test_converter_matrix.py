"""Every `tfgl convert` pair on the small CNN, the LSTM and MobileNetV2 (the sources of the graph
fixtures), with outputs matching the Keras/TensorFlow source: max |error| <= 1e-4 * max |reference|
(float16 weights: 2e-3)."""
from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.conftest import convert
from tests.fixtures import sources

pytestmark = [pytest.mark.tf, pytest.mark.converter, pytest.mark.slow]

MODELS = ["small_cnn", "lstm", "mobilenet_v2"]
BUILDERS = {"small_cnn": sources.small_cnn, "lstm": sources.lstm, "mobilenet_v2": sources.mobilenet_v2}


def assert_matches(got, want, tolerance: float = 1e-4) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= tolerance * np.abs(want).max()


class Sources:
    """Each source model, and each file made from it, built once per session."""

    def __init__(self, root):
        self.root, self._made = root, {}

    def _once(self, key, make):
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def model(self, name: str, version: str = "3"):
        def make():
            import tf_keras
            return BUILDERS[name](tf_keras if version == "2" else None)
        return self._once(("model", name, version), make)

    def inputs(self, name: str) -> np.ndarray:
        return next(iter(sources.inputs_for(name).values()))

    def reference(self, name: str, version: str = "3") -> np.ndarray:
        return self._once(("ref", name, version),
                          lambda: self.model(name, version).predict(self.inputs(name), verbose=0))

    def file(self, name: str, kind: str) -> str:
        """kind: h5 (Keras 3), h5_k2 (tf_keras), keras (.keras), keras_saved_model (tf_keras), saved_model,
        hub (a SavedModel whose signature is 'default'), frozen (.pb)."""
        def make():
            path = self.root / f"{name}_{kind}"
            if kind in ("h5", "h5_k2"):
                path = path.with_suffix(".h5")
                self.model(name, "2" if kind == "h5_k2" else "3").save(str(path))
            elif kind == "keras":
                path = path.with_suffix(".keras")
                self.model(name).save(str(path))
            elif kind == "keras_saved_model":
                self.model(name, "2").save(str(path), save_format="tf")
            elif kind == "saved_model":
                self.model(name).export(str(path), verbose=False)
            elif kind == "hub":
                self._hub(name, str(path))
            elif kind == "frozen":
                path = path.with_suffix(".pb")
                self._frozen(name, str(path))
            return str(path)
        return self._once(("file", name, kind), make)

    def _hub(self, name: str, path: str) -> None:
        import tensorflow as tf
        model = self.model(name)
        spec = tf.TensorSpec((None, *self.inputs(name).shape[1:]), tf.float32, name="x")
        module = tf.Module()
        module.model = model
        module.serve = tf.function(lambda x: {"y": model(x)}, input_signature=[spec])
        tf.saved_model.save(module, path, signatures={"default": module.serve})

    def _frozen(self, name: str, path: str) -> None:
        import tensorflow as tf
        from tensorflow.python.framework import convert_to_constants
        model = self.model(name)
        function = tf.function(lambda x: tf.identity(model(x), name="y")).get_concrete_function(
            tf.TensorSpec((None, *self.inputs(name).shape[1:]), tf.float32, name="x"))
        frozen = convert_to_constants.convert_variables_to_constants_v2(function)
        with open(path, "wb") as file:
            file.write(frozen.graph.as_graph_def().SerializeToString())

    def layers(self, name: str) -> str:
        def make():
            out = self.root / f"{name}_layers"
            convert(self.file(name, "h5"), str(out), "--input_format=keras")
            return str(out)
        return self._once(("layers", name), make)


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    return Sources(tmp_path_factory.mktemp("matrix"))


def run_layers(path: str, x: np.ndarray) -> np.ndarray:
    return engine.load_layers_model(path, backend="cpu").predict(x)


def run_graph(path: str, x: np.ndarray) -> np.ndarray:
    model = engine.load_graph_model(path, backend="cpu")
    return model.predict({model.inputs[0].name: x})


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("kind,flags,version", [("h5", [], "3"), ("h5_k2", [], "2"),
                                                ("keras", ["--input_format=keras_keras"], "3"),
                                                ("keras_saved_model", ["--input_format=keras_saved_model"], "2")])
def test_keras_to_layers_model(name, kind, flags, version, models, tmp_path):
    flags = flags or ["--input_format=keras"]
    convert(models.file(name, kind), str(tmp_path / "out"), *flags)
    assert_matches(run_layers(str(tmp_path / "out"), models.inputs(name)), models.reference(name, version))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("kind,flags", [("h5", ["--input_format=keras", "--output_format=tfjs_graph_model"]),
                                        ("saved_model", ["--input_format=tf_saved_model"]),
                                        ("hub", ["--input_format=tf_hub"]),
                                        ("frozen", ["--input_format=tf_frozen_model", "--output_node_names=y"])])
def test_tensorflow_inputs_to_graph_model(name, kind, flags, models, tmp_path):
    convert(models.file(name, kind), str(tmp_path / "out"), *flags)
    assert_matches(run_graph(str(tmp_path / "out"), models.inputs(name)), models.reference(name))


@pytest.mark.parametrize("name", MODELS)
def test_layers_model_to_keras_h5_and_saved_model(name, models, tmp_path):
    import keras
    import tensorflow as tf
    convert(models.layers(name), str(tmp_path / "model.h5"), "--input_format=tfjs_layers_model")
    rebuilt = keras.models.load_model(str(tmp_path / "model.h5"), compile=False)
    assert_matches(rebuilt.predict(models.inputs(name), verbose=0), models.reference(name))
    convert(models.layers(name), str(tmp_path / "saved"), "--input_format=tfjs_layers_model",
            "--output_format=keras_saved_model")
    serving = tf.saved_model.load(str(tmp_path / "saved")).signatures["serving_default"]
    served = next(iter(serving(tf.constant(models.inputs(name))).values())).numpy()
    assert_matches(served, models.reference(name))


@pytest.mark.parametrize("name", MODELS)
def test_layers_model_to_layers_model_and_graph_model(name, models, tmp_path):
    convert(models.layers(name), str(tmp_path / "resharded"), "--input_format=tfjs_layers_model",
            "--output_format=tfjs_layers_model", "--weight_shard_size_bytes=65536", "--quantize_float16")
    assert_matches(run_layers(str(tmp_path / "resharded"), models.inputs(name)), models.reference(name), 2e-3)
    convert(models.layers(name), str(tmp_path / "graph"), "--input_format=tfjs_layers_model",
            "--output_format=tfjs_graph_model")
    assert_matches(run_graph(str(tmp_path / "graph"), models.inputs(name)), models.reference(name))


@pytest.mark.parametrize("name", MODELS)
def test_graph_model_back_to_saved_model(name, models, tmp_path):
    import tensorflow as tf
    convert(models.file(name, "saved_model"), str(tmp_path / "graph"))
    convert(str(tmp_path / "graph"), str(tmp_path / "back"), "--input_format=tfjs_graph_model")
    serving = tf.saved_model.load(str(tmp_path / "back")).signatures["serving_default"]
    served = next(iter(serving(**{k: tf.constant(v) for k, v in sources.inputs_for(name).items()}).values()))
    assert_matches(served.numpy(), models.reference(name))
