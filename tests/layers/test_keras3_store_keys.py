"""Layers models whose weights are keyed by a Keras 3 `.keras` archive's store paths
(`layers/dense/vars/0`), as the official converter writes them from `.keras` files: the runtime and
tfgl's converter rename them to the weights' Keras 3 paths and compute what Keras computes."""
import io
import json
import zipfile

import numpy as np
import pytest

import engine
from converter import api
from converter.layers_model import read_keras_v3, write_layers_model
from engine.errors import ModelFormatError
from engine.io.keras_store import rename_store_keys
from tests.conftest import fixture_path
from tests.fixtures import layers_sources
from tests.layers.keras_models import randomize

pytestmark = pytest.mark.tf


def _varied_model(keras):
    """A layer of each kind whose variables Keras 3 stores, several of one class (keys counted per
    class), a frozen one, wrappers, RNN cells and a nested model."""
    layers = keras.layers
    sequence = keras.Input((5, 6), name="sequence")
    y = layers.LSTM(4, return_sequences=True, name="encoder")(sequence)
    y = layers.GRU(4, return_sequences=True, use_bias=False, name="gru")(y)
    y = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True, name="simple_rnn"), name="both_ways")(y)
    y = layers.TimeDistributed(layers.Dense(4), name="per_step")(y)
    y = layers.LayerNormalization(name="norm")(y)
    y = layers.BatchNormalization(scale=False, name="bn_no_scale")(y)
    y = keras.Sequential([layers.Dense(4, name="inner_a"), layers.Dense(3, use_bias=False, name="inner_b")],
                         name="inner")(y)
    y = layers.PReLU(name="prelu")(layers.Flatten(name="flat")(y))
    image = keras.Input((9, 9, 3), name="image")
    z = layers.Conv2D(4, 3, name="conv")(image)
    z = layers.DepthwiseConv2D(3, name="depthwise")(z)
    z = layers.SeparableConv2D(4, 1, name="separable")(z)
    z = layers.Conv2DTranspose(2, 2, name="upsample")(z)
    z = layers.Flatten(name="flat_image")(z)
    ids = keras.Input((3,), dtype="int32", name="ids")
    e = layers.Flatten(name="flat_ids")(layers.Embedding(10, 2, name="embed")(ids))
    merged = layers.Concatenate(name="concat")([y, z, e])
    frozen = layers.Dense(6, name="frozen")
    frozen.trainable = False
    out = layers.Dense(3, name="head")(frozen(layers.Dense(8, activation="tanh", name="mix")(merged)))
    model = keras.Model([sequence, image, ids], out, name="varied")
    randomize(model, 3)
    return model


def _official_layout(archive: str, folder) -> str:
    """The layers model the official converter writes from a .keras archive: the topology of its
    config.json and the archive's weights under their store keys, verbatim."""
    topology, _ = read_keras_v3(archive)
    with zipfile.ZipFile(archive) as zipped:
        import h5py
        with h5py.File(io.BytesIO(zipped.read("model.weights.h5")), "r") as store:
            weights = []
            store.visititems(lambda key, item: weights.append((key, np.asarray(item)))
                             if isinstance(item, h5py.Dataset) else None)
    assert weights and all("/vars/" in key for key, _ in weights)
    folder.mkdir()
    write_layers_model(topology, [weights], str(folder))
    return str(folder / "model.json")


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    import keras
    folder = tmp_path_factory.mktemp("store_keys")
    model = _varied_model(keras)
    model.save(folder / "varied.keras")
    rng = np.random.default_rng(4)
    inputs = [rng.normal(size=(2, 5, 6)).astype(np.float32), rng.normal(size=(2, 9, 9, 3)).astype(np.float32),
              rng.integers(0, 10, (2, 3)).astype(np.int32)]
    return _official_layout(str(folder / "varied.keras"), folder / "official"), inputs, model.predict(inputs, verbose=0)


def test_store_keyed_weights_of_every_kind_compute_what_keras_computes(varied, backend):
    path, inputs, want = varied
    got = engine.load_layers_model(path, backend=backend).predict(inputs)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_the_official_converters_keras3_fixture_computes_what_keras_computes(backend):
    """layers_mlp_keras: written by tensorflowjs_converter 4.22 from the .keras archive of layers_sources.mlp."""
    model = engine.load_layers_model(fixture_path("layers_mlp_keras"), backend=backend)
    assert "hidden/kernel" in model.weights and "bn/moving_variance" in model.weights
    inputs = layers_sources.inputs_for("mlp")
    want = layers_sources.build("mlp", "3").predict(inputs, verbose=0)
    np.testing.assert_allclose(model.predict(inputs), want, rtol=1e-5, atol=1e-6)


def test_the_converter_renames_store_keys(varied, tmp_path):
    """tfjs_layers_model -> keras rebuilds the official fixture with every variable set, and
    tfjs_layers_model -> tfjs_layers_model writes the weights under their Keras 3 paths."""
    import keras
    api.convert(fixture_path("layers_mlp_keras"), str(tmp_path / "model.keras"), input_format="tfjs_layers_model",
                output_format="keras_keras")
    rebuilt = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    inputs = layers_sources.inputs_for("mlp")
    want = layers_sources.build("mlp", "3").predict(inputs, verbose=0)
    np.testing.assert_allclose(rebuilt.predict(inputs, verbose=0), want, rtol=1e-5, atol=1e-6)
    path, inputs, want = varied
    api.convert(path, str(tmp_path / "web"), input_format="tfjs_layers_model", output_format="tfjs_layers_model")
    manifest = json.loads((tmp_path / "web" / "model.json").read_text())["weightsManifest"]
    names = {w["name"] for group in manifest for w in group["weights"]}
    assert {"encoder/lstm_cell/recurrent_kernel", "both_ways/backward_simple_rnn/simple_rnn_cell/bias",
            "inner/inner_b/kernel", "bn_no_scale/beta"} <= names and not any("/vars/" in n for n in names)
    np.testing.assert_allclose(engine.load_layers_model(tmp_path / "web", backend="cpu").predict(inputs), want,
                               rtol=1e-4, atol=1e-5 * np.abs(want).max())


def _dense_config(**extra) -> dict:
    layers = [{"class_name": "InputLayer", "config": {"name": "x", "batch_shape": [None, 2]}},
              {"class_name": "Dense", "config": {"name": "d", "units": 2, **extra}},
              {"class_name": "Custom", "config": {"name": "c"}}]
    return {"class_name": "Functional", "config": {"name": "m", "layers": layers}}


@pytest.mark.parametrize("key,match", [
    ("layers/dense/vars/1", r"layer 'd' \(Dense\) has 1 variables in Keras 3 \(kernel\), not 2"),
    ("layers/custom/vars/0", r"does not know the order of the Keras 3 variables of layer 'c' \(Custom\)"),
    ("layers/dense_1/vars/0", "a Keras 3 store path that no layer of the topology has"),
])
def test_store_keys_the_topology_does_not_account_for_are_refused(key, match):
    with pytest.raises(ModelFormatError, match=match):
        rename_store_keys(_dense_config(use_bias=False), {"layers/dense/vars/0": 0, key: 1})
