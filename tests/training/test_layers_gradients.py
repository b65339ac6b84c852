"""A layers model's forward pass recorded through the executor (engine.layers.training.forward, the
weights fed as watched tensors) gives the gradients Keras 3 gives under tf.GradientTape, for the
same weights, batch and loss, with BatchNormalization in training mode."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import engine
from engine.autodiff import gradients
from engine.layers.training import forward, weight_tensors
from tests.fixtures.layers_sources import weight_name
from tests.layers.keras_models import randomize, save_as_tfjs

pytestmark = pytest.mark.tf


def small_cnn():
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(5, 3, use_bias=False)(h)
    h = keras.layers.Activation("tanh")(h)
    h = keras.layers.AveragePooling2D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(6, activation="elu")(h)
    return inputs, keras.layers.Dense(3, activation="softmax")(h)


def sequence_model():
    """Embedding (a gather), Conv1D (run as a 2-D op on the expanded kernel), grouped Conv1D, a
    channels-first BatchNormalization, global pooling."""
    inputs = keras.Input((7,), dtype="int32")
    h = keras.layers.Embedding(10, 4)(inputs)
    h = keras.layers.Conv1D(6, 3, padding="causal", activation="sigmoid")(h)
    h = keras.layers.Conv1D(4, 2, groups=2, activation="relu")(h)
    h = keras.layers.BatchNormalization(axis=1)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return inputs, keras.layers.Dense(3, activation="softmax")(h)


def recurrent_model():
    """LSTM, GRU and a bidirectional SimpleRNN (unrolled: Unpack, Pack, ReverseV2)."""
    inputs = keras.Input((5, 3))
    h = keras.layers.GRU(4, return_sequences=True)(inputs)
    h = keras.layers.Bidirectional(keras.layers.SimpleRNN(3, return_sequences=True))(h)
    h = keras.layers.LSTM(4)(h)
    return inputs, keras.layers.Dense(3, activation="softmax")(h)


def assorted_layers():
    """The activation layers with parameters (PReLU's weight), gelu, LayerNormalization, and the
    1-D reshaping and transposed / separable convolutions."""
    inputs = keras.Input((5, 3))
    h = keras.layers.ZeroPadding1D()(inputs)
    h = keras.layers.UpSampling1D()(h)
    h = keras.layers.SeparableConv1D(4, 2)(h)
    h = keras.layers.PReLU()(h)
    h = keras.layers.Conv1DTranspose(3, 2, strides=2)(h)
    h = keras.layers.ELU(alpha=0.5)(h)
    h = keras.layers.ReLU(negative_slope=0.1, threshold=0.2)(h)
    h = keras.layers.LayerNormalization()(h)
    h = keras.layers.Cropping1D(2)(h)
    h = keras.layers.Flatten()(keras.layers.LeakyReLU()(h))
    h = keras.layers.Dense(4, activation="gelu")(h)
    return inputs, keras.layers.Dense(3, activation="softmax")(h)


def image_layers():
    """Resizing (bilinear and nearest), a transposed convolution, a separable one with a depth
    multiplier, max pooling over the whole image."""
    inputs = keras.Input((5, 4, 2))
    h = keras.layers.UpSampling2D(interpolation="bilinear")(inputs)
    h = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.UpSampling2D()(keras.layers.AveragePooling2D(2)(h))
    h = keras.layers.SeparableConv2D(4, 3, depth_multiplier=2, activation="tanh")(h)
    return inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalMaxPooling2D()(h))


def merge_layers():
    """Two branches joined by Dot, Concatenate, Average, Maximum and Subtract."""
    inputs = keras.Input((5, 3))
    a = keras.layers.Dense(4, activation="sigmoid")(inputs)
    b = keras.layers.Dense(4)(inputs)
    dot = keras.layers.Flatten()(keras.layers.Dot(axes=(2, 2))([a, b]))
    joined = keras.layers.Concatenate()([keras.layers.Average()([a, b]), keras.layers.Maximum()([a, b]),
                                         keras.layers.Subtract()([a, b])])
    h = keras.layers.Concatenate()([keras.layers.Flatten()(joined), dot])
    return inputs, keras.layers.Dense(3, activation="softmax")(h)


def batch(rng, name):
    if name == "small_cnn":
        x = rng.normal(size=(4, 8, 8, 3)).astype(np.float32)
    elif name == "sequence_model":
        x = rng.integers(0, 10, (4, 7)).astype(np.int32)
    elif name == "image_layers":
        x = rng.normal(size=(4, 5, 4, 2)).astype(np.float32)
    else:
        x = rng.normal(size=(4, 5, 3)).astype(np.float32)
    return x, np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]


def crossentropy(backend, probabilities, targets):
    """-mean(sum(targets * log(p), -1)), as ops on `backend`."""
    def run(op, *inputs, **attrs):
        return backend.run(op, [engine.tensor(x) for x in inputs], attrs)[0]
    per_example = run("Sum", run("Mul", run("Log", probabilities), targets), np.int32([1]))
    return run("Neg", run("Mean", per_example, np.int32([0])))


@pytest.mark.parametrize("build", [small_cnn, sequence_model, recurrent_model, assorted_layers, image_layers,
                                   merge_layers],
                         ids=lambda f: f.__name__)
def test_model_gradients_match_keras(backend, rng, tmp_path, build):
    import tensorflow as tf
    keras_model = keras.Model(*build())
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend=backend)
    x, targets = batch(rng, build.__name__)
    weights = weight_tensors(model)
    loss, grads = gradients(lambda: crossentropy(model.backend, forward(model, x, weights).outputs[0], targets),
                            list(weights.values()))

    with tf.GradientTape() as tape:
        probabilities = keras_model(x, training=True)
        want_loss = -tf.reduce_mean(tf.reduce_sum(targets * tf.math.log(probabilities), 1))
    want = dict(zip(map(weight_name, keras_model.trainable_weights),
                    tape.gradient(want_loss, keras_model.trainable_weights)))
    np.testing.assert_allclose(loss.numpy(), want_loss.numpy(), rtol=1e-5)
    for name, grad in zip(weights, grads):
        if name not in want:  # the moving statistics: no gradient
            assert grad is None, name
            continue
        expected = np.asarray(tf.convert_to_tensor(want[name]))
        scale = max(np.abs(expected).max(), 1e-6)
        assert np.abs(grad.numpy() - expected).max() <= 1e-4 * scale, name
    # Keras's training-mode call moved BatchNormalization's statistics once, as a step here does
    updates = forward(model, x, weights).updates
    moving = {weight_name(w): w.numpy() for w in keras_model.non_trainable_weights}
    assert set(updates) == set(moving)
    for name, value in updates.items():
        np.testing.assert_allclose(value.numpy(), moving[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_a_webgl_training_step_stays_on_the_gpu(webgl, rng, tmp_path):
    """Forward pass, backward pass and an Adam update of a small CNN: no op falls back to the CPU."""
    keras_model = keras.Model(*small_cnn())
    randomize(keras_model)
    model = engine.load_layers_model(save_as_tfjs(keras_model, str(tmp_path)), backend="webgl")
    x, targets = batch(rng, "small_cnn")
    weights = weight_tensors(model)
    before = dict(engine.backends.webgl.stats()["cpu_fallbacks"])
    _, grads = gradients(lambda: crossentropy(model.backend, forward(model, x, weights).outputs[0], targets),
                         list(weights.values()))
    engine.optimizers.Adam().apply_gradients(weights, dict(zip(weights, grads)), model.backend)
    assert engine.backends.webgl.stats()["cpu_fallbacks"] == before
