"""Core and merge layers against Keras 3 and tf_keras on every backend."""
import numpy as np
import pytest

from tests.layers.keras_models import assert_matches_keras, randomize

pytestmark = pytest.mark.tf


def test_dense_activations_and_reshaping(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((6, 4), name="x")
    h = L.Dense(5, activation="swish", name="d1")(x)            # Dense on rank 3
    h = L.Reshape((5, 6), name="r")(h)
    h = L.Permute((2, 1), name="p")(h)
    h = L.Flatten(name="f")(h)
    h = L.Dropout(0.5, name="drop")(h)
    for act in ["relu", "elu", "selu", "tanh", "softplus", "softsign", "gelu", "hard_sigmoid"]:
        h = L.Dense(8, activation=act, name=f"d_{act}")(h)
    h = L.Activation("sigmoid", name="act")(h)
    h = L.RepeatVector(3, name="rep")(h)
    out = L.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(x, out)
    randomize(model)
    assert_matches_keras(model, rng.normal(size=(2, 6, 4)).astype(np.float32), str(tmp_path), backend)


def test_merge_layers_shared_layer_and_two_outputs(keras, backend, tmp_path, rng):
    L = keras.layers
    a, b = keras.Input((7,), name="a"), keras.Input((7,), name="b")
    shared = L.Dense(7, activation="relu", name="shared")
    sa, sb = shared(a), shared(b)                                 # one layer, two calls, one set of weights
    merged = [L.Add(name="add")([sa, sb]), L.Subtract(name="sub")([sa, sb]), L.Multiply(name="mul")([sa, sb]),
              L.Average(name="avg")([sa, sb]), L.Maximum(name="max")([sa, sb]), L.Minimum(name="min")([sa, sb])]
    cat = L.Concatenate(name="cat")(merged)
    dot = L.Dot(axes=1, normalize=True, name="dot")([sa, sb])
    model = keras.Model([a, b], [L.Dense(4, name="head")(cat), dot])
    randomize(model)
    inputs = [rng.normal(size=(3, 7)).astype(np.float32) for _ in range(2)]
    assert_matches_keras(model, inputs, str(tmp_path), backend)


def test_activation_layers_embedding_rescaling(keras, backend, tmp_path, rng):
    L = keras.layers
    ids = keras.Input((5,), name="ids", dtype="int32")
    h = L.Embedding(11, 6, name="emb")(ids)
    h = L.Rescaling(0.5, offset=-0.1, name="scale")(h)
    h = L.LeakyReLU(name="leaky")(h)
    h = L.ELU(alpha=0.7, name="elu")(h)
    h = L.PReLU(name="prelu")(h)
    h = L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.05, name="relu")(h)
    h = L.Softmax(axis=1, name="softmax")(h)
    model = keras.Model(ids, h)
    randomize(model)
    model.get_layer("prelu").set_weights([np.random.default_rng(1).uniform(0, 0.5, (5, 6)).astype(np.float32)])
    assert_matches_keras(model, rng.integers(0, 11, (2, 5)).astype(np.int32), str(tmp_path), backend)


def test_nested_sequential_inside_functional(keras, backend, tmp_path, rng):
    L = keras.layers
    inner = keras.Sequential([keras.Input((4,)), L.Dense(6, activation="relu", name="i1"),
                              L.Dense(3, name="i2")], name="inner")
    x = keras.Input((4,), name="x")
    model = keras.Model(x, L.Dense(2, name="o")(inner(x)))
    randomize(model)
    assert_matches_keras(model, rng.normal(size=(2, 4)).astype(np.float32), str(tmp_path), backend)


def test_unknown_layer_names_class_and_layer(tmp_path):
    import json

    import engine
    from engine.errors import ModelFormatError
    topology = {"keras_version": "2.15.0", "model_config": {"class_name": "Sequential", "config": {
        "name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "name": "in"}},
                                {"class_name": "FancyLayer", "config": {"name": "fancy_1"}}]}}}
    (tmp_path / "model.json").write_text(json.dumps({"format": "layers-model", "modelTopology": topology,
                                                     "weightsManifest": []}))
    with pytest.raises(ModelFormatError, match="unknown layer class 'FancyLayer' \\(layer 'fancy_1'\\)"):
        engine.load_layers_model(str(tmp_path))


def test_top_level_sequential(keras, backend, tmp_path, rng):
    """Keras 3 names a top-level Sequential's weights sequential/<layer>/kernel, tf_keras <layer>/kernel."""
    L = keras.layers
    model = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="relu", name="a"), L.Dense(2, name="b")],
                             name="sequential")
    randomize(model)
    assert_matches_keras(model, rng.normal(size=(3, 5)).astype(np.float32), str(tmp_path), backend)
