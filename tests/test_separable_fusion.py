"""Load-time fusion of a depthwise convolution into the 1x1 convolution that alone reads it
(engine/graph/fuse_separable.py, engine/kernels/cpu/separable.py): which pairs fuse, and fused
models and the fused kernel compute what TensorFlow does, with the same bits on one thread as on
OpenMP's."""
import numpy as np
import pytest

from engine.backends.cpu import CPUBackend
from engine.backends.webgl import WebGLBackend
from engine.graph.fuse_separable import fuse_separable_convolutions
from engine.graph.graph import Graph, Node
from engine.kernels.cpu import convolution, openmp, separable
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


def _fused_call(x, dw, pw, pw_bias, dw_bias=None, strides=1, padding="SAME", dilations=1):
    dw_args = [] if dw_bias is None else [dw_bias]
    return separable.fused_separable_conv2d(
        x, dw, *dw_args, pw, pw_bias, num_depthwise_inputs=2 + len(dw_args),
        depthwise_strides=[1, strides, strides, 1], depthwise_padding=padding,
        depthwise_dilations=[1, dilations, dilations, 1],
        depthwise_fused_ops=["BiasAdd", "Relu6"] if dw_bias is not None else [], fused_ops=["BiasAdd", "Relu"])


CASES = [((1, 40, 36, 48), 1, "SAME", 1, True), ((2, 33, 20, 64), 2, "SAME", 1, False),
         ((1, 23, 31, 16), 2, "VALID", 1, True), ((1, 18, 18, 8), 1, "SAME", 2, False),
         ((1, 5, 5, 128), 1, "SAME", 1, False)]


@pytest.mark.tf
@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_fused_kernel_matches_tensorflow_with_the_same_bits_either_way(case):
    import tensorflow as tf
    shape, stride, padding, dilation, dw_epilogue = case
    channels = shape[3]
    x = RNG.normal(size=shape).astype(np.float32)
    dw, dw_bias = RNG.normal(size=(3, 3, channels, 1)).astype(np.float32), RNG.normal(size=channels).astype(np.float32)
    pw, pw_bias = RNG.normal(size=(1, 1, channels, 24)).astype(np.float32), RNG.normal(size=24).astype(np.float32)
    args = (x, dw, pw, pw_bias, dw_bias if dw_epilogue else None, stride, padding, dilation)
    calls = []
    monkey = pytest.MonkeyPatch()
    run = openmp.separable
    monkey.setattr(openmp, "separable", lambda *a: calls.append(openmp.active()) or run(*a))
    try:
        one_thread = _fused_call(*args)
        with openmp.threads():
            threaded = _fused_call(*args)
    finally:
        monkey.undo()
    if openmp.available():
        assert calls[0] is False and len(calls) == 2  # the compiled kernel ran both times, first on one thread
    np.testing.assert_array_equal(threaded, one_thread)
    hidden = tf.nn.depthwise_conv2d(x, dw, [1, stride, stride, 1], padding, dilations=[dilation, dilation])
    if dw_epilogue:
        hidden = tf.nn.relu6(hidden + dw_bias)
    want = tf.nn.relu(tf.nn.conv2d(hidden, pw, 1, "VALID") + pw_bias).numpy()
    np.testing.assert_allclose(one_thread, want, rtol=1e-4, atol=1e-4)


@pytest.mark.tf
def test_what_does_not_fit_runs_unfused():
    """A filter that turns out not to be 1x1, or float64 values: the two convolutions' own kernels."""
    import tensorflow as tf
    x = RNG.normal(size=(1, 9, 9, 4)).astype(np.float32)
    dw = RNG.normal(size=(3, 3, 4, 1)).astype(np.float32)
    wide, bias = RNG.normal(size=(3, 3, 4, 6)).astype(np.float32), RNG.normal(size=6).astype(np.float32)
    got = _fused_call(x, dw, wide, bias)
    hidden = tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "SAME")
    np.testing.assert_allclose(got, tf.nn.relu(tf.nn.conv2d(hidden, wide, 1, "VALID") + bias), rtol=1e-4, atol=1e-4)
    x64 = x.astype(np.float64)
    pw = RNG.normal(size=(1, 1, 4, 6))
    got = _fused_call(x64, dw.astype(np.float64), pw, bias.astype(np.float64))
    hidden = tf.nn.depthwise_conv2d(x64, dw.astype(np.float64), [1, 1, 1, 1], "SAME")
    np.testing.assert_allclose(got, tf.nn.relu(tf.nn.conv2d(hidden, pw, 1, "VALID") + bias), rtol=1e-10)
    no_channels = separable.fused_separable_conv2d(x, dw, np.zeros((1, 1, 4, 0), np.float32), np.zeros(0, np.float32),
                                                   num_depthwise_inputs=2, depthwise_strides=[1, 1, 1, 1],
                                                   depthwise_padding="SAME", fused_ops=["BiasAdd"])
    assert no_channels.shape == (1, 9, 9, 0)
    with pytest.raises(ValueError, match="num_depthwise_inputs"):
        separable.fused_separable_conv2d(x, dw, num_depthwise_inputs=2, depthwise_strides=[1, 1, 1, 1],
                                         depthwise_padding="SAME")


def test_the_first_call_takes_the_compiled_path_too(monkeypatch):
    """The fused kernel loads the OpenMP kernels itself (as windowed convolutions do): a process's
    first call must not run unfused and give other bits than the calls after it."""
    if not openmp.available():
        pytest.skip("no numba threading layer or OpenBLAS cblas here")
    x = RNG.normal(size=(1, 24, 20, 16)).astype(np.float32)
    dw = RNG.normal(size=(3, 3, 16, 1)).astype(np.float32)
    pw, bias = RNG.normal(size=(1, 1, 16, 32)).astype(np.float32), RNG.normal(size=32).astype(np.float32)
    monkeypatch.setattr(openmp, "_kernels", None)  # as in a fresh process
    calls = []
    run = openmp.separable
    monkeypatch.setattr(openmp, "separable", lambda *a: calls.append(1) or run(*a))
    first, second = _fused_call(x, dw, pw, bias), _fused_call(x, dw, pw, bias)
    assert len(calls) == 2 and openmp.loaded()
    np.testing.assert_array_equal(first, second)
    monkeypatch.setattr(openmp, "_kernels", None)  # likewise a 1x1 convolution with its epilogue alone
    pixels = RNG.normal(size=(1, 32, 32, 16)).astype(np.float32)  # 2^19 multiply-adds: past MIN_MACS

    def pointwise():
        return convolution.fused_conv2d(pixels, pw, bias, strides=[1, 1, 1, 1], padding="VALID",
                                        fused_ops=["BiasAdd", "Relu6"])
    first = pointwise()
    assert openmp.loaded()
    second = pointwise()
    np.testing.assert_array_equal(first, second)
