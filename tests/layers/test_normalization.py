"""Normalization layers against Keras 3 and tf_keras on every backend."""
import numpy as np
import pytest

from tests.layers.keras_models import assert_matches_keras, randomize

pytestmark = pytest.mark.tf


def test_batch_normalization_axes_and_flags(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((4, 5, 3), name="x")
    h = L.BatchNormalization(name="bn_last")(x)                                  # NHWC, axis -1
    h = L.BatchNormalization(axis=1, epsilon=0.01, name="bn_axis1")(h)           # channels-first style
    h = L.BatchNormalization(center=False, name="bn_no_beta")(h)
    h = L.BatchNormalization(scale=False, name="bn_no_gamma")(h)
    h = L.Reshape((20, 3), name="flat")(h)
    h = L.BatchNormalization(axis=1, name="bn_rank3")(h)
    out = L.Dense(2, name="out")(L.BatchNormalization(name="bn_rank2")(L.Flatten(name="f")(h)))
    model = keras.Model(x, out)
    randomize(model)
    assert_matches_keras(model, rng.normal(size=(2, 4, 5, 3)).astype(np.float32), str(tmp_path), backend)


def test_batch_normalization_two_axes_tf_keras(backend, tmp_path, rng):
    """tf_keras allows several axes (parameters stored broadcast-shaped); Keras 3 takes one."""
    keras = pytest.importorskip("tf_keras")
    x = keras.Input((4, 3), name="x")
    model = keras.Model(x, keras.layers.BatchNormalization(axis=[1, 2], name="bn")(x))
    randomize(model)
    assert_matches_keras(model, rng.normal(size=(3, 4, 3)).astype(np.float32), str(tmp_path), backend)


def test_layer_unit_normalization(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((4, 6), name="x")
    h = L.LayerNormalization(name="ln")(x)
    h = L.LayerNormalization(axis=[1, 2], epsilon=1e-5, name="ln_two_axes")(h)
    h = L.LayerNormalization(center=False, name="ln_no_beta")(h)
    h = L.LayerNormalization(scale=False, axis=1, name="ln_axis1")(h)
    h = L.UnitNormalization(name="unit")(L.Dense(5, name="d")(h))
    h = L.UnitNormalization(axis=[1, 2], name="unit_two_axes")(h)
    model = keras.Model(x, h)
    randomize(model)
    assert_matches_keras(model, (rng.normal(size=(2, 4, 6)) * 3 + 1).astype(np.float32), str(tmp_path), backend)


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_keras3_rms_scaling_and_rms_normalization(backend, tmp_path, rng):
    keras = pytest.importorskip("keras")
    if not hasattr(keras.layers, "RMSNormalization"):
        pytest.skip("this Keras 3 has no RMSNormalization")
    L = keras.layers
    x = keras.Input((3, 8), name="x")
    h = L.LayerNormalization(rms_scaling=True, name="ln_rms")(x)   # deprecated, still in old models
    h = L.RMSNormalization(name="rms")(L.Dense(8, name="d")(h))
    h = L.RMSNormalization(axis=[1, 2], epsilon=1e-3, name="rms_two_axes")(h)
    model = keras.Model(x, h)
    randomize(model)
    for layer in ("rms", "rms_two_axes"):
        weights = model.get_layer(layer).get_weights()
        model.get_layer(layer).set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in weights])
    assert_matches_keras(model, rng.normal(size=(2, 3, 8)).astype(np.float32) + 0.5, str(tmp_path), backend)
