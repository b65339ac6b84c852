"""Zero padding, cropping and up-sampling layers against Keras 3 and tf_keras on every backend:
every config form (an int, one per axis, (before, after) per axis), both data formats, nearest and
bilinear interpolation, odd sizes. One model per test, one output per config."""
import numpy as np
import pytest

import engine
from tests.layers.keras_models import assert_model_matches_keras, rewrite_layer_configs, save_as_tfjs

pytestmark = pytest.mark.tf


def _inputs(keras, rng):
    shapes = {"s": (7, 3), "x": (5, 6, 4), "v": (3, 5, 4, 2)}
    tensors = {name: keras.Input(shape, name=name) for name, shape in shapes.items()}
    arrays = [rng.normal(size=(2, *shape)).astype(np.float32) for shape in shapes.values()]
    return tensors, arrays


def test_zero_padding(keras, backend, tmp_path, rng):
    L = keras.layers
    t, arrays = _inputs(keras, rng)
    cf = "channels_first"
    outs = [L.ZeroPadding1D(name="p1")(t["s"]),
            L.ZeroPadding1D((2, 0), name="p1_pair")(t["s"]),
            L.ZeroPadding2D(name="p2")(t["x"]),
            L.ZeroPadding2D((2, 1), name="p2_sym")(t["x"]),
            L.ZeroPadding2D(((0, 2), (3, 1)), name="p2_pairs")(t["x"]),
            L.ZeroPadding2D(((1, 0), (0, 2)), data_format=cf, name="p2_cf")(t["x"]),
            L.ZeroPadding3D(name="p3")(t["v"]),
            L.ZeroPadding3D((1, 0, 2), name="p3_sym")(t["v"]),
            L.ZeroPadding3D(((0, 1), (2, 0), (1, 1)), data_format=cf, name="p3_cf")(t["v"])]
    if keras.__name__ == "keras":  # Keras 2's ZeroPadding1D has no data_format
        outs.append(L.ZeroPadding1D((1, 2), data_format=cf, name="p1_cf")(t["s"]))
    assert_model_matches_keras(keras, list(t.values()), outs, arrays, tmp_path, backend)


def test_cropping(keras, backend, tmp_path, rng):
    L = keras.layers
    t, arrays = _inputs(keras, rng)
    cf = "channels_first"
    outs = [L.Cropping1D(name="c1")(t["s"]),
            L.Cropping1D((0, 3), name="c1_pair")(t["s"]),
            L.Cropping2D(1, name="c2_int")(t["x"]),
            L.Cropping2D((2, 1), name="c2_sym")(t["x"]),
            L.Cropping2D(((0, 2), (3, 1)), name="c2_pairs")(t["x"]),
            L.Cropping2D(((1, 0), (0, 2)), data_format=cf, name="c2_cf")(t["x"]),
            L.Cropping3D(((1, 0), (2, 1), (0, 1)), name="c3")(t["v"]),
            L.Cropping3D(((1, 2), (1, 1), (0, 1)), data_format=cf, name="c3_cf")(t["v"]),
            L.Cropping3D((0, 1, 0), name="c3_sym")(t["v"])]
    assert_model_matches_keras(keras, list(t.values()), outs, arrays, tmp_path, backend)


def test_up_sampling(keras, backend, tmp_path, rng):
    L = keras.layers
    t, arrays = _inputs(keras, rng)
    cf = "channels_first"
    outs = [L.UpSampling1D(name="u1")(t["s"]),
            L.UpSampling1D(3, name="u1_3")(t["s"]),
            L.UpSampling2D(name="u2")(t["x"]),
            L.UpSampling2D((3, 2), name="u2_32")(t["x"]),
            L.UpSampling2D((1, 3), data_format=cf, name="u2_cf")(t["x"]),
            L.UpSampling2D((2, 3), interpolation="bilinear", name="u2_bilinear")(t["x"]),
            L.UpSampling2D(3, interpolation="bilinear", data_format=cf, name="u2_bilinear_cf")(t["x"]),
            L.UpSampling3D(name="u3")(t["v"]),
            L.UpSampling3D((3, 1, 2), name="u3_312")(t["v"]),
            L.UpSampling3D((2, 3, 2), data_format=cf, name="u3_cf")(t["v"])]
    assert_model_matches_keras(keras, list(t.values()), outs, arrays, tmp_path, backend)


def test_up_sampling_tiles_stay_within_gl_rank():
    """Channels-last UpSampling3D repeats three axes: at once a rank-7 Tile, so two Tiles instead."""
    from engine.layers.reshaping import MAX_TILE_RANK, _tile_pattern
    factors = [1, 2, 2, 2, 1]
    assert len(_tile_pattern((2, 3, 5, 4, 2), [1, 2, 3], factors)) == 7 > MAX_TILE_RANK
    assert _tile_pattern((2, 3, 5, 4, 2), [1, 2], factors) == [[6, 1], [1, 2], [5, 1], [1, 2], [8, 1]]
    assert _tile_pattern((2, 3, 5, 4, 2), [3], factors) == [[120, 1], [1, 2], [2, 1]]


def test_short_config_forms(backend, tmp_path, rng):
    """Configs as TF.js writes them: an int for every axis, one int per axis, no data_format."""
    keras = pytest.importorskip("tf_keras")
    L = keras.layers
    t, arrays = _inputs(keras, rng)
    outs = [L.ZeroPadding1D(2, name="p1")(t["s"]), L.ZeroPadding2D((2, 1), name="p2")(t["x"]),
            L.ZeroPadding3D(1, name="p3")(t["v"]), L.Cropping2D(1, name="c2")(t["x"]),
            L.Cropping3D((1, 2, 0), name="c3")(t["v"]), L.UpSampling2D(3, name="u2")(t["x"]),
            L.UpSampling3D(2, name="u3")(t["v"])]
    model = keras.Model(list(t.values()), outs)
    want = model.predict(arrays, verbose=0)
    short = {"p1": 2, "p2": [2, 1], "p3": 1, "c2": 1, "c3": [1, 2, 0], "u2": 3, "u3": 2}

    def shorten(config):
        config.pop("data_format", None)
        if config["name"] in short:
            key = next(k for k in ("padding", "cropping", "size") if k in config)
            config[key] = short[config["name"]]
    path = save_as_tfjs(model, str(tmp_path))
    rewrite_layer_configs(path, shorten)
    got = engine.load_layers_model(path, backend=backend).execute(arrays)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
