"""LayersModel's Keras API around training: get_weights / set_weights in Keras's order, save as a
TF.js layers model (loads back with the trained weights and predictions, all or nothing on error,
on to Keras through `tfgl convert`), and the errors of misuse."""
from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

import engine
from engine.errors import InputError
from tests.fixtures.layers_sources import weight_name
from tests.layers.keras_models import randomize, save_as_tfjs

pytestmark = pytest.mark.tf


@pytest.fixture
def twins(tmp_path, rng):
    """A small CNN with batch norm in Keras and loaded in tfgl (cpu), from the same weights, and inputs."""
    inputs = keras.Input((5, 5, 2))
    h = keras.layers.Conv2D(3, 3, use_bias=False)(inputs)
    h = keras.layers.BatchNormalization()(h)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(h))
    keras_model = keras.Model(inputs, outputs)
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path / "source")), backend="cpu")
    return model, keras_model, rng.normal(size=(6, 5, 5, 2)).astype(np.float32)


def test_get_and_set_weights_round_trip_in_keras_order(twins, rng):
    model, keras_model, x = twins
    assert model.weight_order == [weight_name(v) for v in keras_model.weights]
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        assert np.array_equal(ours, theirs)
    new = [w + rng.normal(0, 0.1, w.shape).astype(np.float32) for w in model.get_weights()]
    new[4] = np.abs(new[4])   # moving variance
    before = model.predict(x)
    model.set_weights(new)
    keras_model.set_weights(new)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), new))
    after = model.predict(x)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, keras_model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_set_weights_refuses_a_wrong_count_or_shape(twins):
    model, _, _ = twins
    weights = model.get_weights()
    with pytest.raises(InputError, match="takes 7 arrays"):
        model.set_weights(weights[:-1])
    with pytest.raises(InputError, match=r"kernel. has shape \[27, 2\], got \[2, 27\]"):
        model.set_weights(weights[:5] + [weights[5].T] + weights[6:])


def test_saved_model_loads_with_the_trained_weights_and_flags(twins, tmp_path):
    model, _, x = twins
    model.layers[1].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(6) % 2, batch_size=3, epochs=2, verbose=0)
    out = tmp_path / "trained"
    model.save(out, shard_size_bytes=64)
    data = json.loads((out / "model.json").read_text())
    paths = data["weightsManifest"][0]["paths"]
    assert len(paths) > 1 and sorted(os.listdir(out)) == sorted(["model.json", *paths])
    assert paths[0] == f"group1-shard1of{len(paths)}.bin"
    loaded = engine.load_layers_model(str(out), backend="cpu")
    assert [layer.trainable for layer in loaded.layers] == [layer.trainable for layer in model.layers] == \
        [True, False, True, True, True]
    for ours, theirs in zip(loaded.get_weights(), model.get_weights()):
        assert np.array_equal(ours, theirs)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_save_replaces_an_output_only_once_it_is_whole(twins, tmp_path, monkeypatch):
    """Writing fails after a shard: the previous output is left as it was, nothing beside it."""
    import engine.io.saving as saving
    model, _, _ = twins
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.json").write_text("the previous model")
    real_write = saving.write_weights

    def fail_after_writing(*args, **kwargs):
        real_write(*args, **kwargs)
        raise OSError("disk full")
    monkeypatch.setattr(saving, "write_weights", fail_after_writing)
    with pytest.raises(OSError, match="disk full"):
        model.save(out)
    assert os.listdir(out) == ["model.json"] and (out / "model.json").read_text() == "the previous model"
    assert sorted(os.listdir(tmp_path)) == ["out", "source"]
    monkeypatch.undo()
    model.save(out)
    assert engine.load_layers_model(str(out), backend="cpu").get_weights()[0].shape == (3, 3, 2, 3)


def test_saved_model_converts_on_to_keras(twins, tmp_path):
    from engine.cli import main
    model, _, x = twins
    model.set_weights([w * 1.5 if w.ndim > 1 else w for w in model.get_weights()])
    model.save(tmp_path / "web_model")
    target = tmp_path / "model.keras"
    assert main(["convert", str(tmp_path / "web_model"), str(target), "--input_format=tfjs_layers_model",
                 "--output_format=keras_keras"]) == 0
    restored = keras.saving.load_model(str(target), compile=False)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x), rtol=1e-4, atol=1e-6)


def test_misuse_gets_clear_errors(twins, tmp_path):
    model, _, x = twins
    with pytest.raises(InputError, match="not compiled"):
        model.fit(x, np.zeros(6))
    with pytest.raises(InputError, match="unknown loss"):
        model.compile(optimizer="sgd", loss="hinge_of_doom")
    with pytest.raises(InputError, match="unknown optimizer"):
        model.compile(optimizer="lion", loss="mse")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["f1_of_doom"])
    with pytest.raises(InputError, match="different numbers of samples"):
        model.fit(x, np.zeros(5), verbose=0)
    with pytest.raises(InputError, match="batch_size"):
        model.fit(x, np.zeros(6), batch_size=0, verbose=0)
    with pytest.raises(InputError, match="unknown metric 'f1_of_doom'"):
        model.fit(x, np.zeros(6), verbose=0)
    with pytest.raises(InputError, match="is a file"):
        (tmp_path / "file").write_text("")
        model.save(tmp_path / "file")
    with pytest.raises(InputError, match="no layer named"):
        model.get_layer("nope")


def test_fit_on_two_inputs_with_dropout_repeats_with_a_seed(tmp_path):
    """The mlp source: two inputs (a list or a dict by name), batch norm and Dropout; the same seed
    gives the same shuffles and masks, so the same losses and weights; another seed does not."""
    from tests.fixtures import layers_sources
    folder = save_as_tfjs(layers_sources.build("mlp", "3"), str(tmp_path / "mlp"))
    x = layers_sources.inputs_for("mlp", batch=8)
    y = np.arange(8) % 3
    runs = []
    for seed, inputs in ((1, x), (1, dict(zip(["features", "extra"], x))), (2, x)):
        model = engine.load_layers_model(folder, backend="cpu")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(inputs, y, batch_size=3, epochs=2, seed=seed, verbose=0)
        runs.append((history.history["loss"], model.get_weights()))
    (loss_a, weights_a), (loss_b, weights_b), (loss_c, _) = runs
    assert loss_a == loss_b and all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))
    assert loss_a != loss_c


def test_get_weights_follows_keras_for_a_converted_keras_archive(tmp_path):
    """A .keras archive lists its layers by name (the converted manifest too); get_weights gives
    Keras's order: layers as the topology has them, a nested model's inside it."""
    from engine.cli import main
    inputs = keras.Input((4, 3))
    h = keras.layers.BatchNormalization()(keras.layers.LSTM(5)(inputs))
    head = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(3)], name="head")
    keras_model = keras.Model(inputs, head(h))
    randomize(keras_model)
    keras_model.save(tmp_path / "model.keras")
    assert main(["convert", str(tmp_path / "model.keras"), str(tmp_path / "web"), "--input_format=keras"]) == 0
    model = engine.load_layers_model(str(tmp_path / "web"), backend="cpu")
    assert list(model.weights) != model.weight_order   # the archive's order differs from Keras's
    assert len(model.get_weights()) == len(keras_model.weights)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        assert np.array_equal(ours, theirs)


def test_a_model_frozen_whole_keeps_every_weight(twins):
    model, keras_model, x = twins
    model.trainable = keras_model.trainable = False
    assert not any(layer.trainable for layer in model.layers)
    before = model.get_weights()
    for m in (model, keras_model):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ours = model.fit(x, np.arange(6) % 2, batch_size=4, verbose=0)
    with pytest.warns(UserWarning, match="trainable weights"):
        theirs = keras_model.fit(x, np.arange(6) % 2, batch_size=4, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
    np.testing.assert_allclose(ours.history["loss"], theirs.history["loss"], rtol=1e-4)
