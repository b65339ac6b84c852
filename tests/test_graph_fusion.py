"""Load-time fusion of zero pads into VALID convolutions and of convolution/matmul + constant scale + bias + activation
chains (the batch norms Keras 3 exports leave as Mul/AddV2): fused graphs match TensorFlow, intermediates stay
fetchable."""
import numpy as np
import pytest

from engine.graph.model import GraphModel
from engine.io import parse_model_json
from tests.test_graph import model_from_tf_graph, run_tf1

pytestmark = pytest.mark.tf

RNG = np.random.default_rng(7)


def conv_bn_relu6(p):
    import tensorflow as tf
    x = p["x"]
    conv = tf.nn.conv2d(x, RNG.normal(size=(3, 3, 4, 8)).astype(np.float32), 1, "SAME", name="conv")
    scaled = tf.multiply(conv, RNG.uniform(0.5, 2, 8).astype(np.float32), name="scale")
    shifted = tf.add(scaled, RNG.normal(size=8).astype(np.float32), name="shift")
    act = tf.nn.relu6(shifted, name="act")
    project = tf.nn.conv2d(act, RNG.normal(size=(1, 1, 8, 8)).astype(np.float32), 1, "VALID")
    residual = tf.add(RNG.normal(size=8).astype(np.float32), tf.add_n([act, project]))  # grappler's form
    padded = tf.pad(residual, [[0, 0], [1, 1], [0, 3], [0, 0]])
    dw = tf.nn.depthwise_conv2d(padded, RNG.normal(size=(3, 3, 8, 1)).astype(np.float32), [1, 1, 1, 1], "VALID",
                                name="dw")
    dw = tf.nn.leaky_relu(tf.add(tf.multiply(dw, np.float32(0.5)), RNG.normal(size=8).astype(np.float32)), 0.1)
    flat = tf.reshape(dw, [-1, 8 * 6 * 7])
    dense = tf.nn.tanh(tf.matmul(flat, RNG.normal(size=(336, 5)).astype(np.float32) * 0.1) + np.float32(0.25))
    return {"act": act, "out": dense}


def test_fused_chains_match_tensorflow_and_keep_intermediates(backend):
    feeds = {"x": RNG.normal(size=(1, 6, 6, 4)).astype(np.float32)}
    graph, names, expected = run_tf1(conv_bn_relu6, feeds)
    model = model_from_tf_graph(graph, {"x": "x:0"}, {"out": names["out"]}, backend)

    ops = [node.op for node in model.executor.graph.nodes.values()]
    assert ops.count("_FusedConv2D") == 2 and ops.count("FusedDepthwiseConv2dNative") == 1
    assert ops.count("_FusedMatMul") == 1
    assert not {"Mul", "AddV2", "Relu6", "LeakyRelu", "Tanh", "Pad", "AddN", "Conv2D"} & set(ops)

    out = model.predict(feeds["x"])
    np.testing.assert_allclose(out, expected["out"], rtol=1e-4, atol=1e-4)
    [act] = model.execute({"x:0": feeds["x"]}, [names["act"]])
    np.testing.assert_allclose(act, expected["act"], rtol=1e-4, atol=1e-4)
    [scaled] = model.execute({"x:0": feeds["x"]}, ["scale"])  # fused away: served by the unfused graph
    assert scaled.shape == (1, 6, 6, 8)


def padded_strided_convs(p):
    import tensorflow as tf
    padded = tf.pad(p["x"], [[0, 0], [0, 1], [1, 1], [0, 0]], name="pad")
    dw = tf.nn.depthwise_conv2d(padded, RNG.normal(size=(3, 3, 4, 1)).astype(np.float32), [1, 2, 2, 1], "VALID",
                                name="dw")
    dw = tf.nn.relu6(tf.nn.bias_add(dw, RNG.normal(size=4).astype(np.float32), name="dw_bias"), name="dw_act")
    repadded = tf.pad(dw, [[0, 0], [1, 1], [0, 1], [0, 0]], name="repad")
    conv = tf.nn.conv2d(repadded, RNG.normal(size=(3, 3, 4, 6)).astype(np.float32), 2, "VALID", name="conv")
    return {"out": tf.nn.relu6(tf.nn.bias_add(conv, RNG.normal(size=6).astype(np.float32), name="conv_bias"),
                               name="conv_act")}


def fuse_like_the_official_converter(graph_def) -> None:
    """conv -> BiasAdd -> Relu6 becomes one _FusedConv2D / FusedDepthwiseConv2dNative named as the Relu6."""
    nodes = {node.name: node for node in graph_def.node}
    for conv_name, op in (("dw", "FusedDepthwiseConv2dNative"), ("conv", "_FusedConv2D")):
        conv, bias, act = nodes[conv_name], nodes[f"{conv_name}_bias"], nodes[f"{conv_name}_act"]
        act.op = op
        act.ClearField("input")
        act.input.extend([*conv.input, bias.input[1]])
        for key in ("strides", "padding", "dilations", "data_format"):
            if key in conv.attr:
                act.attr[key].CopyFrom(conv.attr[key])
        act.attr["fused_ops"].list.s.extend([b"BiasAdd", b"Relu6"])
        act.attr["num_args"].i = 1
        graph_def.node.remove(conv)
        graph_def.node.remove(bias)


def test_pads_fold_into_already_fused_convolutions(backend):
    """The official converter's tf.keras MobileNetV2: Pad -> FusedDepthwiseConv2dNative / _FusedConv2D (VALID,
    strided) loses its Pad to EXPLICIT padding as the unfused ops do."""
    from google.protobuf.json_format import MessageToDict
    feeds = {"x": RNG.normal(size=(1, 9, 8, 4)).astype(np.float32)}
    graph, names, expected = run_tf1(padded_strided_convs, feeds)
    graph_def = graph.as_graph_def()
    fuse_like_the_official_converter(graph_def)
    data = {"format": "graph-model", "modelTopology": MessageToDict(graph_def), "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"out": {"name": names["out"]}}}}
    model = GraphModel(parse_model_json(data, "."), {}, backend)

    ops = [node.op for node in model.executor.graph.nodes.values()]
    assert "Pad" not in ops and ops.count("_FusedConv2D") == ops.count("FusedDepthwiseConv2dNative") == 1
    assert {node.attrs["padding"] for node in model.executor.graph.nodes.values() if node.op.startswith(("_F", "F"))} \
        == {"EXPLICIT"}
    np.testing.assert_allclose(model.predict(feeds["x"]), expected["out"], rtol=1e-4, atol=1e-4)
