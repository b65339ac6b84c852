"""The issue's bar for training, below the Keras API: from the same weights on one fixed batch,
20 steps of train_step give Keras 3's losses and weights (moving statistics included) within 1e-4
relative, for SGD with momentum and Adam, a small CNN with batch norm and an LSTM classifier, on
every backend. Keras's side is its own loop: a training-mode call under tf.GradientTape, the loss,
the optimizer's apply_gradients."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import engine
from engine import optimizers
from engine.layers.training import train_step, weight_tensors
from engine.losses import Loss
from tests.fixtures.layers_sources import weight_name
from tests.layers.keras_models import randomize, save_as_tfjs

pytestmark = pytest.mark.tf
STEPS = 20


def cnn_with_batch_norm(rng):
    """The convolution before the batch norm has no bias: batch norm cancels a bias, whose gradient is
    then float rounding noise, which Adam scales up to full steps (in Keras as here, differently)."""
    inputs = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(4, 3, activation="relu")(h)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h))
    return keras.Model(inputs, outputs), rng.normal(size=(6, 8, 8, 2)).astype(np.float32)


def lstm_classifier(rng):
    inputs = keras.Input((5, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.LSTM(6)(inputs))
    return keras.Model(inputs, outputs), rng.normal(size=(6, 5, 3)).astype(np.float32)


def assert_relative(got, want, what):
    scale = max(float(np.abs(want).max()), 1e-6)
    assert float(np.abs(np.asarray(got) - want).max()) <= 1e-4 * scale, what


@pytest.mark.parametrize("build", [cnn_with_batch_norm, lstm_classifier], ids=lambda f: f.__name__)
@pytest.mark.parametrize("name, config", [("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
                                          ("Adam", {"learning_rate": 0.01})], ids=["sgd-momentum", "adam"])
def test_twenty_steps_follow_keras(backend, rng, tmp_path, build, name, config):
    import tensorflow as tf
    keras_model, x = build(rng)
    randomize(keras_model)
    labels = np.arange(len(x)) % 3
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)
    weights = weight_tensors(model)
    ours, theirs = getattr(optimizers, name)(**config), getattr(keras.optimizers, name)(**config)
    loss, keras_loss = Loss("sparse_categorical_crossentropy"), keras.losses.SparseCategoricalCrossentropy()
    for step in range(STEPS):
        step = train_step(model, weights, ours, loss, x, labels)
        value, weights = step.loss, step.weights
        with tf.GradientTape() as tape:
            want = keras_loss(labels, keras_model(x, training=True))
        theirs.apply_gradients(zip(tape.gradient(want, keras_model.trainable_weights), keras_model.trainable_weights))
        assert_relative(value.numpy(), want.numpy(), f"loss at step {step}")
    assert len(weights) == len(keras_model.weights)
    for variable in keras_model.weights:
        assert_relative(weights[weight_name(variable)].numpy(), variable.numpy(), weight_name(variable))
