"""SimpleRNN, LSTM and GRU against Keras 3 and tf_keras on every backend."""
import numpy as np
import pytest

from tests.layers.keras_models import assert_matches_keras, randomize, sequence

pytestmark = pytest.mark.tf


def outputs(keras, *tensors):
    """The model's outputs, several of them from one layer (a sequence and its states)."""
    return list(tensors)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_sequences_states_and_go_backwards(keras, kind, backend, tmp_path, rng):
    """Several units and sequence lengths; return_sequences, return_state, go_backwards, stacking."""
    L = keras.layers
    rnn = getattr(L, kind)
    x = keras.Input((7, 3), name="x")
    seq, *states = rnn(5, return_sequences=True, return_state=True, name="first")(x)
    back = rnn(4, go_backwards=True, return_sequences=True, name="backwards")(seq)
    last = rnn(2, go_backwards=True, name="last")(back)
    model = keras.Model(x, outputs(keras, seq, *states, back, last))
    randomize(model)
    assert_matches_keras(model, sequence(rng, 2, 7, 3), str(tmp_path), backend)


@pytest.mark.parametrize("steps", [1, 3])
def test_short_sequences_and_options(keras, steps, backend, tmp_path, rng):
    """One-step sequences, use_bias=False, other activations (hard_sigmoid differs: Keras 2 vs 3)."""
    L = keras.layers
    x = keras.Input((steps, 4), name="x")
    a = L.LSTM(3, use_bias=False, recurrent_activation="hard_sigmoid", return_sequences=True, name="lstm")(x)
    b = L.GRU(3, activation="relu", recurrent_activation="hard_sigmoid", name="gru")(a)
    c = L.SimpleRNN(6, activation="relu", use_bias=False, name="simple")(x)
    model = keras.Model(x, [b, c])
    randomize(model)
    assert_matches_keras(model, sequence(rng, 3, steps, 4), str(tmp_path), backend)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_reset_after(keras, reset_after, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((5, 3), name="x")
    y = L.GRU(4, reset_after=reset_after, return_sequences=True, name="gru")(x)
    out, state = L.GRU(3, reset_after=reset_after, use_bias=False, go_backwards=True, return_state=True,
                       name="gru_no_bias")(y)
    model = keras.Model(x, outputs(keras, y, out, state))
    randomize(model)
    assert_matches_keras(model, sequence(rng, 2, 5, 3), str(tmp_path), backend)


def _config_passes_initial_state() -> bool:
    """Keras 3 writes initial states as the call's `initial_state` keyword; the layers-model config
    reader must pass them on as inputs after the sequence (engine/layers/config.py)."""
    from engine.layers.config import _inbound
    node = {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}],
            "kwargs": {"initial_state": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["h", 0, 0]}}]}}
    refs, _ = _inbound(node, "rnn")
    assert [r.layer for r in refs] == ["x", "h"]


def test_initial_states(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((4, 3), name="x")
    h0, c0 = keras.Input((5,), name="h0"), keras.Input((5,), name="c0")
    lstm = L.LSTM(5, return_sequences=True, name="lstm")(x, initial_state=[h0, c0])
    gru = L.GRU(5, go_backwards=True, name="gru")(x, initial_state=[h0])
    simple = L.SimpleRNN(5, return_state=True, name="simple")(x, initial_state=[c0])
    model = keras.Model([x, h0, c0], outputs(keras, lstm, gru, *simple))
    randomize(model)
    inputs = [sequence(rng, 2, 4, 3), rng.normal(size=(2, 5)).astype(np.float32),
              rng.normal(size=(2, 5)).astype(np.float32)]
    assert_matches_keras(model, inputs, str(tmp_path), backend)


def test_rnn_layer_over_a_cell(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((4, 3), name="x")
    a = L.RNN(L.LSTMCell(4), return_sequences=True, name="rnn_lstm")(x)
    b = L.RNN(L.GRUCell(3), go_backwards=True, name="rnn_gru")(a)
    model = keras.Model(x, b)
    randomize(model)
    assert_matches_keras(model, sequence(rng, 2, 4, 3), str(tmp_path), backend)


def test_time_major_tf_keras(backend, tmp_path, rng):
    keras = pytest.importorskip("tf_keras")
    x = keras.Input((2, 3), name="x")  # (time, batch, features) once time_major: the batch is fixed
    y = keras.layers.LSTM(4, time_major=True, return_sequences=True, name="lstm")(x)
    model = keras.Model(x, y)
    randomize(model)
    assert_matches_keras(model, sequence(rng, 5, 2, 3), str(tmp_path), backend)
