"""The optimizers against Keras 3's: the same gradients give the same weights step by step, and
training a tiny Dense model from the same weights on a fixed batch gives Keras's losses and weights."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import engine
from engine import optimizers
from engine.autodiff import gradients
from engine.errors import InputError
from engine.layers.training import forward, weight_tensors
from tests.fixtures.layers_sources import weight_name
from tests.layers.keras_models import randomize, save_as_tfjs

pytestmark = pytest.mark.tf

CONFIGS = [
    ("SGD", {}), ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {}), ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {}),
]


@pytest.mark.parametrize("name, config", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_update_rules_match_keras(backend, rng, name, config):
    start = {"w": rng.normal(size=(3, 4)).astype(np.float32), "b": rng.normal(size=(4,)).astype(np.float32)}
    ours = getattr(optimizers, name)(**config)
    theirs = getattr(keras.optimizers, name)(**config)
    variables = {k: keras.Variable(v) for k, v in start.items()}
    weights = {k: engine.tensor(v) for k, v in start.items()}
    for step in range(5):
        grads = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in start.items()}
        theirs.apply_gradients([(grads[k], variables[k]) for k in start])
        weights = ours.apply_gradients(weights, {k: engine.tensor(g) for k, g in grads.items()}, backend)
        for k in start:
            np.testing.assert_allclose(weights[k].numpy(), variables[k].numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} {config}, {k} after step {step + 1}")
    assert ours.iterations == 5


def test_defaults_are_keras_defaults():
    for name in ("SGD", "Adam", "RMSprop", "Adagrad"):
        theirs = getattr(keras.optimizers, name)().get_config()
        ours = vars(getattr(optimizers, name)())
        for key, value in ours.items():
            if key in theirs:
                assert value == pytest.approx(theirs[key]), f"{name}.{key}"
    assert isinstance(optimizers.get("adam"), optimizers.Adam)


def test_bad_arguments_are_clear():
    with pytest.raises(InputError, match="unknown optimizer 'adamw'"):
        optimizers.get("adamw")
    with pytest.raises(InputError, match="learning_rate"):
        optimizers.SGD(learning_rate=0)
    with pytest.raises(InputError, match="shape"):
        optimizers.SGD().apply_gradients({"w": engine.tensor(np.ones(2, np.float32))},
                                         {"w": engine.tensor(np.ones(3, np.float32))}, "cpu")


@pytest.mark.parametrize("name, config", [("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
                                          ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
                                          ("Adam", {"learning_rate": 0.01})], ids=["momentum", "nesterov", "adam"])
def test_training_a_dense_model_follows_keras(backend, rng, tmp_path, name, config):
    """20 steps on one fixed batch, mean squared error: losses and weights within 1e-4 relative."""
    import tensorflow as tf
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    keras_model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)
    x, y = rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    target, axes = engine.tensor(y), engine.tensor(np.int32([0, 1]))
    backend_impl = model.backend

    def mse(weights):
        difference = backend_impl.run("SquaredDifference", [forward(model, x, weights).outputs[0], target], {})[0]
        return backend_impl.run("Mean", [difference, axes], {})[0]

    ours, theirs = getattr(optimizers, name)(**config), getattr(keras.optimizers, name)(**config)
    weights = weight_tensors(model)
    for step in range(20):
        loss, grads = gradients(lambda current=weights: mse(current), list(weights.values()))
        weights = ours.apply_gradients(weights, dict(zip(weights, grads)), backend_impl)
        with tf.GradientTape() as tape:
            want_loss = tf.reduce_mean(tf.math.squared_difference(keras_model(x), y))
        theirs.apply_gradients(zip(tape.gradient(want_loss, keras_model.trainable_weights),
                                   keras_model.trainable_weights))
        np.testing.assert_allclose(loss.numpy(), want_loss.numpy(), rtol=1e-4, err_msg=f"loss at step {step}")
    for variable in keras_model.trainable_weights:
        np.testing.assert_allclose(weights[weight_name(variable)].numpy(), variable.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=weight_name(variable))
