"""Dropout and the other noise layers in training graphs: seeded, fresh per step from a generator,
Keras 3's scaling, gradients through the mask; untouched at inference."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import engine
from engine.autodiff import gradients
from engine.errors import ModelFormatError
from engine.layers.training import forward, weight_tensors
from tests.layers.keras_models import randomize, save_as_tfjs

pytestmark = pytest.mark.tf


def load(tmp_path, backend, layer, shape=(6,)):
    inputs = keras.Input(shape)
    hidden = keras.layers.Dense(5, use_bias=False)(inputs)
    keras_model = keras.Model(inputs, layer(hidden))
    randomize(keras_model)
    return engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)


def test_dropout_masks_are_seeded_scaled_and_carry_gradients(backend, rng, tmp_path):
    model = load(tmp_path, backend, keras.layers.Dropout(0.4))
    x = rng.normal(size=(64, 6)).astype(np.float32)
    weights = weight_tensors(model)
    [kernel_name] = weights
    first = forward(model, x, weights, seed=7).outputs[0].numpy()
    np.testing.assert_array_equal(forward(model, x, weights, seed=7).outputs[0].numpy(), first)
    generator = np.random.default_rng(7)
    steps = [forward(model, x, weights, seed=generator).outputs[0].numpy() for _ in range(2)]
    np.testing.assert_array_equal(steps[0], first)
    assert not np.array_equal(steps[1], first)
    dense = x @ model.weights[kernel_name]
    mask = first / dense
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1 / 0.6, rtol=1e-6)
    assert 0.3 < 1 - kept.mean() < 0.5
    np.testing.assert_allclose(model.predict(x), dense, rtol=1e-5, atol=1e-6)  # inference: no dropout
    loss, [grad] = gradients(lambda: model.backend.run("Sum", [forward(model, x, weights, seed=7).outputs[0],
                                                              engine.tensor(np.int32([0, 1]))], {})[0],
                             [weights[kernel_name]])
    np.testing.assert_allclose(grad.numpy(), x.T @ mask, rtol=1e-4, atol=1e-5)


def test_spatial_dropout_shares_a_mask_over_positions(backend, rng, tmp_path):
    model = load(tmp_path, backend, keras.layers.SpatialDropout1D(0.5), shape=(7, 6))
    x = rng.normal(size=(8, 7, 6)).astype(np.float32)
    weights = weight_tensors(model)
    mask = forward(model, x, weights, seed=1).outputs[0].numpy() / (x @ next(iter(model.weights.values())))
    np.testing.assert_allclose(mask, np.broadcast_to(mask[:, :1], mask.shape), rtol=1e-5)
    assert set(np.round(np.unique(mask), 4)) <= {0.0, 2.0}


@pytest.mark.parametrize("layer, check", [
    (lambda: keras.layers.GaussianNoise(0.5), lambda y, dense: np.std(y - dense)),
    (lambda: keras.layers.GaussianDropout(0.2), lambda y, dense: np.std(y / dense)),
])
def test_gaussian_noise_layers(backend, rng, tmp_path, layer, check):
    """GaussianNoise adds N(0, 0.5); GaussianDropout(0.2) multiplies by N(1, sqrt(0.2 / 0.8) = 0.5)."""
    model = load(tmp_path, backend, layer())
    x = rng.normal(size=(400, 6)).astype(np.float32)
    weights = weight_tensors(model)
    dense = x @ next(iter(model.weights.values()))
    y = forward(model, x, weights, seed=3).outputs[0].numpy()
    assert check(y, dense) == pytest.approx(0.5, rel=0.05)
    np.testing.assert_allclose(model.predict(x), dense, rtol=1e-5, atol=1e-6)


def test_alpha_dropout_is_refused_in_training(tmp_path, rng):
    model = load(tmp_path, "cpu", keras.layers.AlphaDropout(0.2))
    with pytest.raises(ModelFormatError, match="AlphaDropout"):
        forward(model, rng.normal(size=(2, 6)).astype(np.float32), weight_tensors(model))
