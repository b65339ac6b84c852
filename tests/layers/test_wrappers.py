"""Bidirectional and TimeDistributed against Keras 3 and tf_keras on every backend."""
import numpy as np
import pytest

from engine.layers.registry import builder_for
from tests.layers.keras_models import assert_matches_keras, randomize, sequence
from tests.layers.test_recurrent import outputs

pytestmark = pytest.mark.tf


def test_bidirectional_merge_modes(keras, backend, tmp_path, rng):
    """concat, sum, mul, ave and None (two outputs), over sequences and over last steps."""
    L = keras.layers
    x = keras.Input((5, 3), name="x")
    tensors = []
    for mode in ("concat", "sum", "mul", "ave", None):
        seq = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=mode, name=f"bi_lstm_{mode}")(x)
        last = L.Bidirectional(L.GRU(3), merge_mode=mode, name=f"bi_gru_{mode}")(
            L.Concatenate(name="cat")(seq) if mode is None else seq)
        tensors += [*seq, *last] if mode is None else [seq, last]
    model = keras.Model(x, outputs(keras, *tensors))
    randomize(model)
    assert_matches_keras(model, sequence(rng, 2, 5, 3), str(tmp_path), backend)


def test_bidirectional_states_and_custom_backward_layer(keras, backend, tmp_path, rng):
    """return_state (forward states, then backward ones) and a backward layer of its own."""
    L = keras.layers
    x = keras.Input((6, 2), name="x")
    out, *states = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True), name="bi")(x)
    custom = L.Bidirectional(L.SimpleRNN(4, return_sequences=True),
                             backward_layer=L.SimpleRNN(2, return_sequences=True, go_backwards=True,
                                                        activation="relu"), name="bi_custom")(out)
    model = keras.Model(x, outputs(keras, out, *states, custom))
    randomize(model)
    assert_matches_keras(model, sequence(rng, 3, 6, 2), str(tmp_path), backend)


def test_bidirectional_initial_states(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((4, 3), name="x")
    forward, backward = keras.Input((5,), name="h_forward"), keras.Input((5,), name="h_backward")
    y = L.Bidirectional(L.GRU(5, return_sequences=True), merge_mode="sum", name="bi")(
        x, initial_state=[forward, backward])
    model = keras.Model([x, forward, backward], y)
    randomize(model)
    inputs = [sequence(rng, 2, 4, 3), *(rng.normal(size=(2, 5)).astype(np.float32) for _ in range(2))]
    assert_matches_keras(model, inputs, str(tmp_path), backend)


def test_time_distributed_dense_and_rnn(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((4, 6), name="x")
    h = L.TimeDistributed(L.Dense(5, activation="tanh"), name="td_dense")(x)
    h = L.TimeDistributed(L.Dense(3, use_bias=False), name="td_dense_2")(h)
    h = L.Dense(3, name="dense")(h)                         # a plain layer named like the wrapped ones
    model = keras.Model(x, h)
    randomize(model)
    assert_matches_keras(model, sequence(rng, 2, 4, 6), str(tmp_path), backend)


def test_time_distributed_conv2d(keras, backend, tmp_path, rng):
    if builder_for("Conv2D") is None:
        pytest.skip("no Conv2D builder (engine/layers/convolutional.py)")
    L = keras.layers
    x = keras.Input((3, 6, 6, 2), name="frames")
    h = L.TimeDistributed(L.Conv2D(4, 3, activation="relu"), name="td_conv")(x)
    h = L.TimeDistributed(L.Flatten(), name="td_flat")(h)
    h = L.LSTM(3, name="lstm")(h)
    model = keras.Model(x, h)
    randomize(model)
    assert_matches_keras(model, rng.normal(size=(2, 3, 6, 6, 2)).astype(np.float32), str(tmp_path), backend)
