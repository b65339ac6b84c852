"""Convolution layers against Keras 3 and tf_keras on every backend: strides, dilation, padding
(valid, same, causal), data formats, groups, biases and activations, odd sizes. Each test builds one
model with many branches (one output each), so a config costs no extra Keras or model load.

Channels-first outputs avoid a last axis as long as the filter count: there Keras 3's TensorFlow
backend adds the bias along the wrong axis (its ops.add takes a (1, C, 1) bias for NHWC's BiasAdd
whenever the last axis has C entries)."""
import numpy as np
import pytest

import engine
from tests.layers.keras_models import assert_model_matches_keras, randomize, rewrite_layer_configs, save_as_tfjs

pytestmark = pytest.mark.tf


def test_conv2d(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((9, 11, 6), name="x")
    cf = "channels_first"
    outs = [L.Conv2D(4, 3, activation="relu", name="valid_relu")(x),
            L.Conv2D(3, (2, 3), strides=2, padding="same", activation="tanh", name="same_s2")(x),
            L.Conv2D(3, (3, 2), strides=(3, 2), activation="sigmoid", name="s3x2")(x),
            L.Conv2D(5, 3, dilation_rate=(2, 3), padding="same", use_bias=False, activation="swish", name="dil")(x),
            L.Conv2D(4, 3, dilation_rate=2, activation="softmax", name="dil_softmax")(x),
            L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", data_format=cf, activation="elu", name="cf_same")(x),
            L.Conv2D(2, 2, dilation_rate=(1, 2), data_format=cf, activation="softmax", name="cf_softmax")(x),
            L.Conv2D(2, 3, data_format=cf, use_bias=False, name="cf_nobias")(x),
            L.Conv2D(4, 3, groups=2, activation="relu6", name="groups2")(x),
            L.Conv2D(6, 2, groups=3, padding="same", strides=2, use_bias=False, name="groups3")(x),
            L.Conv2D(3, 3, groups=3, data_format=cf, activation="selu", name="cf_groups")(x)]
    assert_model_matches_keras(keras, x, outs, rng.normal(size=(2, 9, 11, 6)).astype(np.float32), tmp_path, backend)


def test_conv1d(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((13, 4), name="x")
    cf = "channels_first"
    outs = [L.Conv1D(5, 3, activation="relu", name="valid")(x),
            L.Conv1D(3, 4, strides=2, padding="same", name="same_s2")(x),
            L.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh", name="causal_d2")(x),
            L.Conv1D(2, 2, padding="causal", use_bias=False, name="causal_nobias")(x),
            L.Conv1D(4, 3, strides=3, activation="softmax", name="s3_softmax")(x),
            L.Conv1D(4, 2, groups=2, padding="same", activation="elu", name="groups")(x),
            L.Conv1D(3, 3, data_format=cf, name="cf")(x),
            L.Conv1D(3, 2, data_format=cf, padding="causal", dilation_rate=3, activation="relu", name="cf_causal")(x),
            L.Conv1D(3, 3, data_format=cf, strides=2, padding="same", activation="softmax", name="cf_softmax")(x)]
    assert_model_matches_keras(keras, x, outs, rng.normal(size=(2, 13, 4)).astype(np.float32), tmp_path, backend)


def test_conv3d(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((5, 7, 6, 4), name="x")
    cf = "channels_first"
    outs = [L.Conv3D(3, 2, activation="relu", name="valid")(x),
            L.Conv3D(2, (3, 2, 3), strides=(2, 1, 2), padding="same", name="same")(x),
            L.Conv3D(2, 2, dilation_rate=(1, 2, 2), use_bias=False, activation="tanh", name="dil")(x),
            L.Conv3D(4, 3, groups=2, padding="same", name="groups")(x),
            L.Conv3D(3, (2, 3, 2), data_format=cf, padding="same", strides=2, activation="relu", name="cf")(x)]
    assert_model_matches_keras(keras, x, outs, rng.normal(size=(2, 5, 7, 6, 4)).astype(np.float32), tmp_path, backend)


def test_conv_transpose(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((5, 7, 3), name="x")
    cf = "channels_first"
    outs = [L.Conv2DTranspose(4, 3, activation="relu", name="valid")(x),
            L.Conv2DTranspose(3, 3, strides=2, padding="same", name="same_s2")(x),
            L.Conv2DTranspose(3, 2, strides=3, name="valid_s3")(x),                 # stride above the kernel
            L.Conv2DTranspose(2, (3, 4), strides=(2, 3), output_padding=(1, 2), name="out_pad")(x),
            L.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1, use_bias=False, name="same_op")(x),
            L.Conv2DTranspose(2, 3, dilation_rate=2, padding="same", activation="tanh", name="dil")(x),
            L.Conv2DTranspose(3, 3, strides=(2, 1), data_format=cf, name="cf")(x),
            L.Conv2DTranspose(2, 2, strides=2, padding="same", output_padding=1, data_format=cf, name="cf_op")(x)]
    assert_model_matches_keras(keras, x, outs, rng.normal(size=(2, 5, 7, 3)).astype(np.float32), tmp_path, backend)


def test_conv1d_transpose(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((7, 3), name="x")
    outs = [L.Conv1DTranspose(4, 3, strides=2, activation="relu", name="valid")(x),
            L.Conv1DTranspose(2, 4, strides=3, padding="same", output_padding=2, name="same_op")(x),
            L.Conv1DTranspose(3, 3, strides=2, data_format="channels_first", use_bias=False, name="cf")(x)]
    assert_model_matches_keras(keras, x, outs, rng.normal(size=(2, 7, 3)).astype(np.float32), tmp_path, backend)


def test_depthwise_and_separable(keras, backend, tmp_path, rng):
    L = keras.layers
    x = keras.Input((9, 8, 3), name="x")
    s = keras.Input((11, 4), name="s")
    cf = "channels_first"
    outs = [L.DepthwiseConv2D(3, activation="relu", name="dw")(x),
            L.DepthwiseConv2D((2, 3), strides=2, padding="same", depth_multiplier=2, name="dw_s2_m2")(x),
            L.DepthwiseConv2D(3, dilation_rate=(2, 1), use_bias=False, activation="tanh", name="dw_dil")(x),
            L.DepthwiseConv2D(2, depth_multiplier=3, data_format=cf, padding="same", name="dw_cf")(x),
            L.SeparableConv2D(4, 3, activation="relu", name="sep")(x),
            L.SeparableConv2D(5, (3, 2), strides=2, padding="same", depth_multiplier=2, use_bias=False,
                              name="sep_s2")(x),
            L.SeparableConv2D(3, 2, dilation_rate=(2, 1), data_format=cf, activation="softmax", name="sep_cf")(x),
            L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", name="dw1")(s),
            L.DepthwiseConv1D(2, strides=2, data_format=cf, activation="relu", name="dw1_cf")(s),
            L.SeparableConv1D(3, 3, strides=2, activation="relu", name="sep1")(s),
            L.SeparableConv1D(4, 2, dilation_rate=3, padding="same", depth_multiplier=2, name="sep1_dil")(s),
            L.SeparableConv1D(3, 3, data_format=cf, name="sep1_cf")(s)]
    if keras.__name__ == "keras":  # strides and dilation together: Keras 3 only
        outs += [L.DepthwiseConv2D(3, strides=(2, 3), dilation_rate=2, padding="same", name="dw_s_d")(x),
                 L.SeparableConv2D(4, 2, strides=2, dilation_rate=(2, 3), name="sep_s_d")(x),
                 L.SeparableConv1D(4, 3, strides=2, dilation_rate=2, padding="same", name="sep1_s_d")(s)]
    inputs = [rng.normal(size=(2, 9, 8, 3)).astype(np.float32), rng.normal(size=(2, 11, 4)).astype(np.float32)]
    assert_model_matches_keras(keras, [x, s], outs, inputs, tmp_path, backend)


def test_short_config_forms(backend, tmp_path, rng):
    """Configs as TF.js writes them: int kernel sizes, strides and dilations, no data_format."""
    keras = pytest.importorskip("tf_keras")
    L = keras.layers
    x = keras.Input((9, 8, 3), name="x")
    s = keras.Input((10, 3), name="s")
    outs = [L.Conv2D(4, 3, strides=2, name="conv")(x), L.DepthwiseConv2D(2, dilation_rate=2, name="dw")(x),
            L.Conv2DTranspose(2, 3, strides=2, name="convt")(x),
            L.Conv1D(3, 3, dilation_rate=2, padding="causal", name="conv1")(s)]
    model = keras.Model([x, s], outs)
    randomize(model)
    inputs = [rng.normal(size=(2, 9, 8, 3)).astype(np.float32), rng.normal(size=(2, 10, 3)).astype(np.float32)]
    want = model.predict(inputs, verbose=0)

    def shorten(config):
        config.pop("data_format", None)
        for key in ("kernel_size", "strides", "dilation_rate"):
            if key in config:
                config[key] = config[key][0]
    path = save_as_tfjs(model, str(tmp_path))
    rewrite_layer_configs(path, shorten)
    got = engine.load_layers_model(path, backend=backend).execute(inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.abs(w).max())


def _ops(model, folder, shape) -> list[str]:
    loaded = engine.load_layers_model(save_as_tfjs(model, folder), backend="cpu")
    executor = loaded.build([shape])[0]
    return [node.op for node in executor.graph.nodes.values() if node.op not in ("Const", "Placeholder")]


def test_graphs_are_compact(tmp_path):
    keras = pytest.importorskip("keras")
    L = keras.layers

    def ops(layer, shape, folder):
        x = keras.Input(shape[1:])
        return _ops(keras.Model(x, layer(x)), str(tmp_path / folder), shape)

    assert ops(L.Conv2D(4, 3, activation="relu"), (1, 8, 8, 3), "conv") == ["_FusedConv2D"]
    assert ops(L.Conv1D(4, 3, padding="causal", activation="tanh"), (1, 8, 3), "causal") == \
        ["ExpandDims", "_FusedConv2D", "Squeeze"]
    assert ops(L.SeparableConv2D(4, 3), (1, 8, 8, 3), "sep") == ["DepthwiseConv2dNative", "_FusedConv2D"]
    assert ops(L.DepthwiseConv2D(3, activation="relu6"), (1, 8, 8, 3), "dw") == ["FusedDepthwiseConv2dNative"]
    assert ops(L.Conv2D(4, 3, activation="swish"), (1, 8, 8, 3), "swish") == ["_FusedConv2D", "Sigmoid", "Mul"]
    assert ops(L.Conv3D(4, 2, activation="relu"), (1, 4, 4, 4, 3), "conv3d") == ["Conv3D", "BiasAdd", "Relu"]
