"""The graph executor: load-time op checks, plans that free intermediates, and TensorFlow's v1
control flow (nested loops, conds inside loops, loops inside untaken branches) against TensorFlow."""
import numpy as np
import pytest

import engine
from engine.errors import GraphError, UnsupportedOpsError
from engine.graph.model import GraphModel
from engine.io import parse_model_json

pytestmark = pytest.mark.tf


def model_from_tf_graph(graph, inputs: dict[str, str], outputs: dict[str, str], backend: str) -> GraphModel:
    """A GraphModel straight from a TensorFlow graph: constants stay inline in the nodes."""
    from google.protobuf.json_format import MessageToDict
    graph_def = graph.as_graph_def()
    signature = {
        "inputs": {key: {"name": name} for key, name in inputs.items()},
        "outputs": {key: {"name": name} for key, name in outputs.items()},
    }
    data = {"format": "graph-model", "modelTopology": MessageToDict(graph_def), "weightsManifest": [],
            "signature": signature}
    return GraphModel(parse_model_json(data, "."), {}, backend)


def run_tf1(build, feeds: dict[str, np.ndarray]):
    """Builds a v1 graph with `build(placeholders)`, runs it in a Session; returns graph and outputs."""
    import tensorflow as tf
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.disable_control_flow_v2()
        try:
            placeholders = {k: tf.compat.v1.placeholder(tf.as_dtype(v.dtype), v.shape, name=k)
                            for k, v in feeds.items()}
            outputs = build(placeholders)
        finally:
            tf.compat.v1.enable_control_flow_v2()
        with tf.compat.v1.Session(graph=graph) as session:
            values = session.run(outputs, {placeholders[k]: v for k, v in feeds.items()})
    return graph, {k: t.name for k, t in outputs.items()}, values


def nested_loops(p):
    import tensorflow as tf

    def outer_body(i, acc):
        def inner_body(j, a):
            a = tf.cond(tf.reduce_sum(a) > 10.0, lambda: a * 0.5, lambda: a + tf.cast(j, tf.float32))
            return j + 1, a
        _, acc = tf.while_loop(lambda j, a: j < i, inner_body, [0, acc])
        return i + 1, acc

    _, result = tf.while_loop(lambda i, acc: i < p["n"], outer_body, [0, p["x"]])
    return {"result": result}


def loop_in_untaken_branch(p):
    import tensorflow as tf

    def looping():
        return tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * 2.0), [0, p["x"]])[1]

    chosen = tf.cond(p["n"] > 100, looping, lambda: p["x"] - 1.0)
    return {"result": chosen, "other": tf.cond(p["n"] > 0, looping, lambda: p["x"])}


@pytest.mark.parametrize("build", [nested_loops, loop_in_untaken_branch])
@pytest.mark.parametrize("n", [0, 1, 4])
def test_v1_control_flow_matches_tensorflow(build, n, backend):
    feeds = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.int32(n)}
    graph, names, want = run_tf1(build, feeds)
    model = model_from_tf_graph(graph, {"x": "x:0", "n": "n:0"}, names, backend)
    got = model.predict(feeds)
    got = got if isinstance(got, dict) else {model.outputs[0].name: got}
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)


def test_unsupported_ops_are_reported_all_at_once_at_load():
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "a", "op": "Lgamma", "input": ["x"]},
             {"name": "b", "op": "Digamma", "input": ["a"]},
             {"name": "c", "op": "Lgamma", "input": ["b"]}]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": []}
    with pytest.raises(UnsupportedOpsError) as error:
        GraphModel(parse_model_json(data, "."), {}, "cpu")
    assert error.value.missing == {"Lgamma": ["a", "c"], "Digamma": ["b"]}
    assert "Lgamma" in str(error.value) and "Digamma" in str(error.value)


def test_cycles_outside_control_flow_are_refused():
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "a", "op": "AddV2", "input": ["x", "b"]},
             {"name": "b", "op": "Relu", "input": ["a"]}]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"y": {"name": "b:0"}}}}
    model = GraphModel(parse_model_json(data, "."), {}, "cpu")
    with pytest.raises(GraphError, match="cycle"):
        model.predict(np.ones(2, np.float32))


def test_plan_frees_every_intermediate_after_its_last_reader():
    from tests.conftest import fixture_path
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="cpu")
    inputs = {model.inputs[0].key: engine.tensor(np.zeros((1, 24, 24, 3), np.float32))}
    plan = model.executor.plan(list(inputs), [model.outputs[0].key])
    freed = [key for step in plan.steps for key in step.frees]
    assert len(freed) == len(set(freed))
    produced = {(s.node.name, 0) for s in plan.steps if s.node.op != "Const"}
    read = {key for s in plan.steps for key in s.input_keys}
    # every produced tensor that someone reads is freed exactly once, except the fetched output
    assert (produced & read) - {model.outputs[0].key} <= set(freed)
    last_reader = {}
    for index, step in enumerate(plan.steps):
        for key in step.input_keys:
            last_reader[key] = index
    for index, step in enumerate(plan.steps):
        for key in step.frees:
            assert last_reader[key] == index


def test_webgl_textures_are_released_after_each_run(webgl):
    from tests.conftest import fixture_path
    model = engine.load_graph_model(fixture_path("mobilenet_v2"), backend=webgl)
    x = np.zeros((1, 96, 96, 3), np.float32)
    model.predict(x)
    textures = model.backend.textures
    in_use_after_first = textures.in_use
    for _ in range(3):
        model.predict(x)
    assert textures.in_use == in_use_after_first  # only the weights stay resident


def _function(name: str, op: str, attrs: dict | None = None) -> dict:
    """A library function y = op(x) on floats."""
    return {"signature": {"name": name, "inputArg": [{"name": "x", "type": "DT_FLOAT"}],
                          "outputArg": [{"name": "y", "type": "DT_FLOAT"}]},
            "nodeDef": [{"name": "op", "op": op, "input": ["x"], "attr": {"T": {"type": "DT_FLOAT"}, **(attrs or {})}}],
            "ret": {"y": "op:y:0"}}


def _call(function: str) -> dict:
    return {"func": {"name": function}}


def test_only_functions_the_graph_calls_need_kernels():
    """Called functions (directly, or from another function's node) are checked; a function nothing
    calls is not, as in TF.js: converted Estimators keep their summaries' bodies (ReadVariableOp)."""
    float_list = {"list": {"type": ["DT_FLOAT"]}}
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "call", "op": "PartitionedCall", "input": ["x"],
              "attr": {"f": _call("outer"), "Tin": float_list, "Tout": float_list}}]
    library = {"function": [
        _function("outer", "PartitionedCall", {"f": _call("inner"), "Tin": float_list, "Tout": float_list}),
        _function("inner", "Lgamma"),
        _function("summary", "Digamma"),
    ]}
    data = {"format": "graph-model", "modelTopology": {"node": nodes, "library": library}, "weightsManifest": []}
    with pytest.raises(UnsupportedOpsError) as error:
        GraphModel(parse_model_json(data, "."), {}, "cpu")
    assert error.value.missing == {"Lgamma": ["op"]}
    library["function"][1] = _function("inner", "Relu")
    model = GraphModel(parse_model_json(data, "."), {}, "cpu")
    np.testing.assert_array_equal(model.predict(np.array([-1.0, 2.0], np.float32)), [0.0, 2.0])
