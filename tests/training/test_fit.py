"""The issue's bar through the Keras API: from the same .keras file (Keras loads it, `tfgl convert`
takes it to TF.js), model.fit on fixed batches (shuffle=False, a last batch smaller than the
others) gives Keras 3's model.fit losses per epoch, accuracies and final weights (moving statistics
included) within 1e-4 relative after 21 steps, for SGD with momentum and Adam, a small CNN with
batch norm and an LSTM classifier, on every backend; evaluate gives Keras's; freezing follows
Keras's (a frozen BatchNormalization in inference mode)."""
from __future__ import annotations

import weakref

import keras
import numpy as np
import pytest

import engine
from engine import optimizers
from tests.conftest import collection_held_off, fixture_path
from tests.fixtures.layers_sources import weight_name
from tests.layers.keras_models import randomize, save_as_tfjs

pytestmark = pytest.mark.tf
SAMPLES, BATCH, EPOCHS = 10, 4, 7   # 3 steps an epoch, 21 in all


def cnn_with_batch_norm(rng):
    """No bias before the batch norm (see test_training_parity.py: Adam amplifies its noise)."""
    inputs = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(3, 3, padding="same", use_bias=False)(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h))
    return keras.Model(inputs, outputs), rng.normal(size=(SAMPLES, 6, 6, 2)).astype(np.float32)


def lstm_classifier(rng):
    inputs = keras.Input((4, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.LSTM(5)(inputs))
    return keras.Model(inputs, outputs), rng.normal(size=(SAMPLES, 4, 3)).astype(np.float32)


def assert_relative(got, want, what):
    want = np.asarray(want)
    scale = max(float(np.abs(want).max()), 1e-6)
    assert float(np.abs(np.asarray(got) - want).max()) <= 1e-4 * scale, what


def assert_same_weights(model, keras_model):
    assert model.weight_order == [weight_name(v) for v in keras_model.weights]
    for variable, value in zip(keras_model.weights, model.get_weights()):
        assert_relative(value, variable.numpy(), weight_name(variable))


def twins(build, rng, folder, backend):
    keras_model, x = build(rng)
    randomize(keras_model)
    return engine.load_layers_model(save_as_tfjs(keras_model, str(folder)), backend=backend), keras_model, x


OPTIMIZERS = [("SGD", {"learning_rate": 0.05, "momentum": 0.9}), ("Adam", {"learning_rate": 0.01})]


@pytest.mark.parametrize("build", [cnn_with_batch_norm, lstm_classifier], ids=lambda f: f.__name__)
@pytest.mark.parametrize("name, config", OPTIMIZERS, ids=["sgd-momentum", "adam"])
def test_fit_follows_keras_from_the_same_keras_file(backend, rng, tmp_path, build, name, config):
    from engine.cli import main
    source, x = build(rng)
    randomize(source)
    source.save(tmp_path / "model.keras")
    assert main(["convert", str(tmp_path / "model.keras"), str(tmp_path / "web_model"), "--input_format=keras"]) == 0
    keras_model = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    model = engine.load_layers_model(str(tmp_path / "web_model"), backend=backend)
    y = np.arange(SAMPLES) % 3
    for m, module in ((model, optimizers), (keras_model, keras.optimizers)):
        m.compile(optimizer=getattr(module, name)(**config), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ours = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    assert ours.epoch == theirs.epoch == list(range(EPOCHS))
    assert keras_model.optimizer.iterations.numpy() == model.compiled.optimizer.iterations == 21
    assert_relative(ours.history["loss"], theirs.history["loss"], "loss per epoch")
    assert_relative(ours.history["accuracy"], theirs.history["accuracy"], "accuracy per epoch")
    assert_same_weights(model, keras_model)
    assert_relative(model.evaluate(x, y, verbose=0), keras_model.evaluate(x, y, verbose=0), "evaluate")
    assert_relative(model.predict(x), keras_model.predict(x, verbose=0), "predict after fit")


def test_evaluate_and_metrics_follow_keras(backend, rng, tmp_path):
    """Categorical targets: 'accuracy' is categorical accuracy; 'mse' a mean over samples; the
    validation data's loss and metrics come as val_*, in inference mode, after each epoch."""
    inputs = keras.Input((5,))
    keras_model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(keras.layers.Dense(6)(inputs)))
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)
    x = rng.normal(size=(9, 5)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 9)]
    xv, yv = x[:5] * 2, y[::-1][:5]
    for m, module in ((model, optimizers), (keras_model, keras.optimizers)):
        m.compile(optimizer=module.RMSprop(0.01), loss="categorical_crossentropy", metrics=["accuracy", "mse"])
    assert_relative(model.evaluate(x, y, batch_size=4, verbose=0), keras_model.evaluate(x, y, batch_size=4, verbose=0),
                    "evaluate before training")
    ours = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, validation_data=(xv, yv), verbose=0)
    theirs = keras_model.fit(x, y, batch_size=4, epochs=2, shuffle=False, validation_data=(xv, yv), verbose=0)
    assert sorted(ours.history) == sorted(theirs.history) == ["accuracy", "loss", "mse", "val_accuracy", "val_loss",
                                                              "val_mse"]
    for key in theirs.history:
        assert_relative(ours.history[key], theirs.history[key], key)
    logs = model.evaluate(xv, yv, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "accuracy", "mse"]
    assert_relative(list(logs.values()), keras_model.evaluate(xv, yv, verbose=0), "evaluate after training")


def test_frozen_layers_keep_their_weights_and_batch_norm_runs_on_moving_statistics(backend, rng, tmp_path):
    """The convolution and the batch norm frozen: their weights (moving statistics included) stay
    exactly as they were, the head trains as in Keras with the same layers frozen."""
    model, keras_model, x = twins(cnn_with_batch_norm, rng, tmp_path, backend)
    y = np.arange(SAMPLES) % 3
    before = dict(zip(model.weight_order, model.get_weights()))
    for m in (model, keras_model):
        for layer in m.layers[1:3]:
            layer.trainable = False
    assert [layer.trainable for layer in model.layers] == [layer.trainable for layer in keras_model.layers]
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    keras_model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    ours = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert_relative(ours.history["loss"], theirs.history["loss"], "loss per epoch")
    assert_same_weights(model, keras_model)
    for name, value in zip(model.weight_order, model.get_weights()):
        frozen = name.startswith(("conv2d", "batch_normalization"))
        assert np.array_equal(value, before[name]) == frozen, name


def test_early_stopping_and_epoch_hooks_follow_keras(backend, rng, tmp_path):
    """Validation targets unrelated to the training ones: val_loss turns up within a few epochs,
    EarlyStopping stops at Keras's epoch and restores the best epoch's weights, as Keras does."""
    model, keras_model, x = twins(lstm_classifier, rng, tmp_path, backend)
    y, yv = np.arange(SAMPLES) % 3, (np.arange(SAMPLES) + 1) % 3
    seen = []
    for m, module in ((model, optimizers), (keras_model, keras.optimizers)):
        m.compile(optimizer=module.Adam(0.05), loss="sparse_categorical_crossentropy")
    hook = engine.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))
    stop = engine.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    ours = model.fit(x, y, batch_size=5, epochs=12, shuffle=False, validation_data=(x, yv), verbose=0,
                     callbacks=[stop, hook])
    theirs = keras_model.fit(x, y, batch_size=5, epochs=12, shuffle=False, validation_data=(x, yv), verbose=0,
                             callbacks=[keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)])
    assert len(ours.epoch) == len(theirs.epoch) < 12
    assert seen == [(epoch, ["loss", "val_loss"]) for epoch in ours.epoch]
    assert_relative(ours.history["val_loss"], theirs.history["val_loss"], "val_loss per epoch")
    assert stop.best_epoch == int(np.argmin(ours.history["val_loss"])) < ours.epoch[-1]
    assert_same_weights(model, keras_model)


@pytest.mark.parametrize("verbose, lines", [(0, 0), (2, 2)])
def test_verbose_zero_prints_nothing_and_two_a_line_per_epoch(rng, tmp_path, capfd, verbose, lines):
    model, _, x = twins(lstm_classifier, rng, tmp_path, "cpu")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, np.arange(SAMPLES) % 3, epochs=2, verbose=verbose)
    model.evaluate(x, np.arange(SAMPLES) % 3, verbose=verbose)
    out, err = capfd.readouterr()
    assert err == ""
    assert len([line for line in out.splitlines() if line.startswith("Epoch ")]) == lines
    assert (out == "") == (verbose == 0)


def test_progress_bar_per_epoch(rng, tmp_path, capfd):
    model, _, x = twins(lstm_classifier, rng, tmp_path, "cpu")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(SAMPLES) % 3, batch_size=4, epochs=2)
    err = capfd.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "3/3" in err and "loss=" in err


@pytest.mark.parametrize("activation, units, loss", [("softmax", 3, "sparse_categorical_crossentropy"),
                                                     ("sigmoid", 1, "binary_crossentropy")])
def test_saturated_outputs_train_from_their_logits_as_in_keras(backend, rng, tmp_path, activation, units, loss):
    """Outputs so confident and wrong that their probabilities clip at 1e-7: Keras's fit takes the
    crossentropy from the activation's input (a loss past -log(1e-7) ~ 16.1, with gradients), so
    does fit here; from the clipped probabilities the loss and the steps would differ."""
    inputs = keras.Input((4,))
    keras_model = keras.Model(inputs, keras.layers.Dense(units, activation=activation)(inputs))
    kernel = np.tile(np.float32([10, -10, -10][:units]), (4, 1))   # class 0 wins by far
    keras_model.set_weights([kernel, np.zeros(units, np.float32)])
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)
    x = np.abs(rng.normal(size=(6, 4))).astype(np.float32) + 1
    y = np.full(6, int(units == 3))   # class 1 of three; 0 for a sigmoid near 1
    for m, module in ((model, optimizers), (keras_model, keras.optimizers)):
        m.compile(optimizer=module.SGD(0.01), loss=loss)
    ours = model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0)
    assert theirs.history["loss"][0] > 17
    assert_relative(ours.history["loss"], theirs.history["loss"], "loss per epoch")
    assert_same_weights(model, keras_model)


def test_binary_accuracy_of_one_unit_with_flat_targets(rng, tmp_path):
    inputs = keras.Input((4,))
    keras_model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend="cpu")
    x, y = rng.normal(size=(7, 4)).astype(np.float32), rng.integers(0, 2, 7)
    for m in (model, keras_model):
        m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    assert_relative(model.evaluate(x, y, verbose=0), keras_model.evaluate(x, y, verbose=0), "loss, accuracy")


def test_a_frozen_nested_base_trains_only_its_head_as_in_keras(backend, rng, tmp_path):
    """Transfer learning's shape: a nested model as the base, frozen as one layer (its batch norm in
    inference mode), a new head trained; as Keras does from the same weights."""
    base = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, use_bias=False),
                             keras.layers.BatchNormalization(), keras.layers.GlobalAveragePooling2D()], name="base")
    inputs = keras.Input((6, 6, 2))
    keras_model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(base(inputs)))
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)
    x, y = rng.normal(size=(SAMPLES, 6, 6, 2)).astype(np.float32), np.arange(SAMPLES) % 3
    model.get_layer("base").trainable = False
    keras_model.get_layer("base").trainable = False
    before = model.get_weights()
    for m, module in ((model, optimizers), (keras_model, keras.optimizers)):
        m.compile(optimizer=module.Adam(0.05), loss="sparse_categorical_crossentropy")
    ours = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert_relative(ours.history["loss"], theirs.history["loss"], "loss per epoch")
    assert_same_weights(model, keras_model)
    changed = [not np.array_equal(a, b) for a, b in zip(model.get_weights(), before)]
    assert changed == [name.startswith("head/") for name in model.weight_order]


def test_a_trained_model_let_go_is_freed_at_once(backend, rng):
    """Neither fit's History (the model's `history`, holding the model as a callback does) nor the
    weights' order keeps a trained model alive once its last reference is gone, even for a while: its
    textures need no garbage collection to come back."""
    with collection_held_off():
        model = engine.load_layers_model(fixture_path("layers_cnn"), backend=backend)
        x = rng.random((4, *model.inputs[0].shape[1:]), np.float32)
        model.compile(optimizer="sgd", loss="mean_squared_error")
        history = model.fit(x, model.predict(x), epochs=2, verbose=0)
        model.set_weights(model.get_weights())
        gone = weakref.ref(model)
        del model
        assert gone() is None
    assert history.model is None and len(history.epoch) == 2
