"""Load-time fusion of a depthwise convolution into the 1x1 convolution that alone reads it
(engine/graph/fuse_separable.py): which pairs fuse, and fused models compute what TensorFlow does
(the kernel itself: tests/kernels/test_separable.py)."""
import numpy as np
import pytest

from engine.backends.cpu import CPUBackend
from engine.backends.webgl import WebGLBackend
from engine.graph.fuse_separable import fuse_separable_convolutions
from engine.graph.graph import Graph, Node
from tests.test_graph import model_from_tf_graph, run_tf1

RNG = np.random.default_rng(11)


def separable_blocks(p):
    """MobileNet's two forms: depthwise (with bias and Relu6) then a 1x1 projection; and a plain
    depthwise then a 1x1 convolution with bias and Relu6 (an SSD head's separable convolution)."""
    import tensorflow as tf
    dw = tf.nn.depthwise_conv2d(p["x"], RNG.normal(size=(3, 3, 6, 1)).astype(np.float32), [1, 2, 2, 1], "SAME",
                                name="dw")
    dw = tf.nn.relu6(tf.nn.bias_add(dw, RNG.normal(size=6).astype(np.float32)), name="dw_act")
    project = tf.nn.conv2d(dw, RNG.normal(size=(1, 1, 6, 8)).astype(np.float32), 1, "VALID", name="project")
    head_dw = tf.nn.depthwise_conv2d(project, RNG.normal(size=(3, 3, 8, 1)).astype(np.float32), [1, 1, 1, 1],
                                     "SAME", name="head_dw")
    head = tf.nn.conv2d(head_dw, RNG.normal(size=(1, 1, 8, 5)).astype(np.float32), 1, "SAME", name="head")
    return {"out": tf.nn.relu6(tf.nn.bias_add(head, RNG.normal(size=5).astype(np.float32)), name="head_act")}


@pytest.mark.tf
@pytest.mark.parametrize("shape", [(1, 17, 15, 6), (2, 40, 33, 6)], ids=str)
def test_fused_separable_convolutions_match_tensorflow(monkeypatch, shape):
    feeds = {"x": RNG.normal(size=shape).astype(np.float32)}
    graph, names, expected = run_tf1(separable_blocks, feeds)
    monkeypatch.setattr(CPUBackend, "fuses_separable", False)
    plain = model_from_tf_graph(graph, {"x": "x:0"}, names, "cpu")
    monkeypatch.setattr(CPUBackend, "fuses_separable", True)
    fused = model_from_tf_graph(graph, {"x": "x:0"}, names, "cpu")
    ops = [node.op for node in fused.executor.graph.nodes.values()]
    assert ops.count("_FusedSeparableConv2D") == 2
    assert not {"DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"} & set(ops)
    assert "_FusedSeparableConv2D" not in [node.op for node in plain.executor.graph.nodes.values()]
    for _ in range(3):  # the first calls on threads and on one thread (blas.ThreadChoice)
        out = fused.predict(feeds["x"])
        np.testing.assert_allclose(out, expected["out"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out, plain.predict(feeds["x"]), rtol=1e-5, atol=1e-5)
    [hidden] = fused.execute({"x:0": feeds["x"]}, ["head_dw"])  # fused away: the unfused graph serves it
    [want] = plain.execute({"x:0": feeds["x"]}, ["head_dw"])
    np.testing.assert_array_equal(hidden, want)


def wider_readers(p):
    """Depthwise convolutions read by convolutions whose attrs pass for 1x1 but whose filters are not:
    a 3x3 SAME one, and a dilated 2x2 VALID one."""
    import tensorflow as tf
    dw = tf.nn.depthwise_conv2d(p["x"], RNG.normal(size=(3, 3, 4, 1)).astype(np.float32), [1, 1, 1, 1], "SAME")
    wide = tf.nn.conv2d(dw, RNG.normal(size=(3, 3, 4, 6)).astype(np.float32), 1, "SAME", name="wide")
    dw2 = tf.nn.depthwise_conv2d(wide, RNG.normal(size=(3, 3, 6, 1)).astype(np.float32), [1, 1, 1, 1], "SAME")
    dilated = tf.nn.conv2d(dw2, RNG.normal(size=(2, 2, 6, 3)).astype(np.float32), 1, "VALID", dilations=2,
                           name="dilated")
    return {"out": dilated}


@pytest.mark.tf
def test_fused_pairs_whose_filter_is_not_1x1_run_unfused_with_their_own_geometry():
    feeds = {"x": RNG.normal(size=(1, 9, 9, 4)).astype(np.float32)}
    graph, names, expected = run_tf1(wider_readers, feeds)
    model = model_from_tf_graph(graph, {"x": "x:0"}, names, "cpu")
    assert [node.op for node in model.executor.graph.nodes.values()].count("_FusedSeparableConv2D") == 2
    np.testing.assert_allclose(model.predict(feeds["x"]), expected["out"], rtol=1e-4, atol=1e-4)


def _graph(*extra: Node, dw_attrs: dict | None = None, pw_attrs: dict | None = None, pw_inputs=None) -> Graph:
    nodes = [Node("x", "Placeholder", [], [], {"dtype": "float32"}),
             Node("f", "Const", [], [], {"dtype": "float32"}), Node("g", "Const", [], [], {"dtype": "float32"}),
             Node("dw", "DepthwiseConv2dNative", [("x", 0), ("f", 0)], [],
                  {"T": "float32", "strides": [1, 1, 1, 1], "padding": "SAME", **(dw_attrs or {})}),
             Node("pw", "Conv2D", pw_inputs or [("dw", 0), ("g", 0)], [],
                  {"T": "float32", "strides": [1, 1, 1, 1], "padding": "VALID", **(pw_attrs or {})}), *extra]
    return Graph(nodes)


def test_which_pairs_fuse():
    fused = fuse_separable_convolutions(_graph()).nodes
    assert "dw" not in fused and fused["pw"].op == "_FusedSeparableConv2D"
    assert fused["pw"].inputs == [("x", 0), ("f", 0), ("g", 0)]
    assert fused["pw"].attrs["num_depthwise_inputs"] == 2 and fused["pw"].attrs["depthwise_padding"] == "SAME"
    left_alone = [
        _graph(Node("other", "Relu", [("dw", 0)], [], {"T": "float32"})),  # a second reader
        _graph(Node("after", "Relu", [("x", 0)], ["dw"], {"T": "float32"})),  # a control edge from it
        _graph(pw_attrs={"strides": [1, 2, 2, 1]}),
        _graph(pw_attrs={"padding": "EXPLICIT", "explicit_paddings": [0, 0, 1, 1, 1, 1, 0, 0]}),
        _graph(dw_attrs={"padding": "EXPLICIT", "explicit_paddings": [0, 0, 1, 1, 1, 1, 0, 0]}),
        _graph(dw_attrs={"data_format": "NCHW"}),
        _graph(dw_attrs={"T": "float64"}),
        _graph(pw_inputs=[("dw", 0), ("dw", 0)]),  # read twice by its reader
    ]
    for graph in left_alone:
        assert fuse_separable_convolutions(graph) is graph
    graph = _graph()
    assert fuse_separable_convolutions(graph, protected={"dw"}) is graph  # a model output


def test_only_the_cpu_backend_fuses():
    assert CPUBackend.fuses_separable and not WebGLBackend.fuses_separable
