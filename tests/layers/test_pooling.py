"""Pooling layers against Keras 3 and tf_keras on every backend: pool sizes, strides (given and
defaulted), 'valid'/'same' padding, both data formats, keepdims, odd sizes. One model per test, one
output per config."""
import numpy as np
import pytest

import engine
from tests.layers.keras_models import assert_model_matches_keras, rewrite_layer_configs, save_as_tfjs

pytestmark = pytest.mark.tf


def test_pooling_2d(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((9, 11, 4), name="x")
    cf = "channels_first"
    outs = []
    for kind, Pool in (("max", L.MaxPooling2D), ("avg", L.AveragePooling2D)):
        outs += [Pool((2, 2), name=f"{kind}_default")(x),              # strides default to the pool size
                 Pool((3, 2), strides=(2, 3), name=f"{kind}_strides")(x),
                 Pool(3, strides=2, padding="same", name=f"{kind}_same")(x),
                 Pool((2, 4), strides=1, padding="same", name=f"{kind}_same_s1")(x),
                 Pool(3, data_format=cf, name=f"{kind}_cf")(x),
                 Pool((2, 3), strides=(1, 2), padding="same", data_format=cf, name=f"{kind}_cf_same")(x)]
    assert_model_matches_keras(keras, x, outs, rng.normal(size=(2, 9, 11, 4)).astype(np.float32), tmp_path, backend)


def test_pooling_1d_and_3d(keras, backend, tmp_path, rng):
    L = keras.layers
    s = keras.Input((13, 3), name="s")
    v = keras.Input((5, 7, 6, 2), name="v")
    cf = "channels_first"
    outs = []
    for kind, Pool1, Pool3 in (("max", L.MaxPooling1D, L.MaxPooling3D),
                               ("avg", L.AveragePooling1D, L.AveragePooling3D)):
        outs += [Pool1(2, name=f"{kind}1")(s),
                 Pool1(3, strides=2, padding="same", name=f"{kind}1_same")(s),
                 Pool1(4, strides=3, name=f"{kind}1_s3")(s),
                 Pool1(2, padding="same", data_format=cf, name=f"{kind}1_cf")(s),
                 Pool3((2, 2, 2), name=f"{kind}3")(v),
                 Pool3((3, 2, 3), strides=(1, 2, 2), padding="same", name=f"{kind}3_same")(v),
                 Pool3(2, strides=(2, 1, 2), data_format=cf, name=f"{kind}3_cf")(v),
                 Pool3((2, 3, 2), padding="same", data_format=cf, name=f"{kind}3_cf_same")(v)]
    inputs = [rng.normal(size=(2, 13, 3)).astype(np.float32), rng.normal(size=(2, 5, 7, 6, 2)).astype(np.float32)]
    assert_model_matches_keras(keras, [s, v], outs, inputs, tmp_path, backend)


def test_global_pooling(keras, backend, tmp_path, rng):
    L = keras.layers
    s = keras.Input((7, 3), name="s")
    x = keras.Input((5, 6, 4), name="x")
    v = keras.Input((3, 5, 4, 2), name="v")
    cf = "channels_first"
    outs = []
    for kind, (G1, G2, G3) in (("max", (L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D)),
                               ("avg", (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D,
                                        L.GlobalAveragePooling3D))):
        for rank, (G, t) in enumerate(((G1, s), (G2, x), (G3, v)), 1):
            outs += [G(name=f"{kind}{rank}")(t),
                     G(keepdims=True, name=f"{kind}{rank}_keep")(t),
                     G(data_format=cf, name=f"{kind}{rank}_cf")(t),
                     G(data_format=cf, keepdims=True, name=f"{kind}{rank}_cf_keep")(t)]
    inputs = [rng.normal(size=shape).astype(np.float32) for shape in ((2, 7, 3), (2, 5, 6, 4), (2, 3, 5, 4, 2))]
    assert_model_matches_keras(keras, [s, x, v], outs, inputs, tmp_path, backend)


def test_short_config_forms(backend, tmp_path, rng):
    """Configs as TF.js and older Keras 2 write them: int pool sizes, strides null (the pool size),
    no data_format, no keepdims."""
    keras = pytest.importorskip("tf_keras")
    L = keras.layers
    x = keras.Input((9, 7, 3), name="x")
    s = keras.Input((11, 3), name="s")
    outs = [L.MaxPooling2D(3, name="max")(x), L.AveragePooling2D(2, padding="same", name="avg")(x),
            L.MaxPooling1D(3, name="max1")(s), L.GlobalAveragePooling2D(name="gavg")(x)]
    model = keras.Model([x, s], outs)
    inputs = [rng.normal(size=(2, 9, 7, 3)).astype(np.float32), rng.normal(size=(2, 11, 3)).astype(np.float32)]
    want = model.predict(inputs, verbose=0)

    def shorten(config):
        for key in ("data_format", "keepdims"):
            config.pop(key, None)
        if "pool_size" in config:
            config["pool_size"], config["strides"] = config["pool_size"][0], None
    path = save_as_tfjs(model, str(tmp_path))
    rewrite_layer_configs(path, shorten)
    got = engine.load_layers_model(path, backend=backend).execute(inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
