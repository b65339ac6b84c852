"""The Python API: eager ops on the current backend (raw TensorFlow ops in engine.ops, TF.js-style
ones in engine.tfjs), manual forward passes from loaded weights, and GraphModel's predict/execute
naming rules."""
import re

import numpy as np
import pytest

import engine
from engine.errors import InputError
from engine.graph.model import GraphModel
from engine.kernels.registry import all_ops, snake_case
from tests.conftest import fixture_path
from tests.fixtures import sources

HIDDEN = "StatefulPartitionedCall/small_cnn_1/hidden_1/Sigmoid"


@pytest.fixture
def current_backend(backend):
    previous = engine.get_backend().name
    engine.set_backend(backend)
    yield backend
    engine.set_backend(previous)


def test_eager_ops_chain_like_tfjs(current_backend):
    a = engine.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = engine.tensor(np.ones((3, 2), np.float32))
    y = engine.tfjs.matmul(a, b).add(engine.tensor([10.0, 20.0])).relu()
    np.testing.assert_allclose(y.numpy(), np.maximum(np.arange(6).reshape(2, 3) @ np.ones((3, 2)) + [10, 20], 0))
    assert (a * 2 - 1).numpy().tolist() == [[-1, 1, 3], [5, 7, 9]]
    assert a.sum().numpy() == 15 and a.mean(axis=1).numpy().tolist() == [1, 4]
    assert a.reshape([3, 2]).transpose().shape == (2, 3)
    assert a.argmax(1).numpy().tolist() == [2, 2] and a.argmax(1).dtype == "int32"
    assert engine.get_backend().name == current_backend


def test_every_kernel_has_an_eager_op_running_it(monkeypatch):
    names = {snake_case(op): op for op in all_ops()}
    assert len(names) == len(all_ops())  # no two ops share a name
    assert set(engine.ops.__all__) == {"run", *names}  # and nothing else takes one
    ran = []
    monkeypatch.setattr(engine.ops, "run", lambda op, *inputs, **attrs: ran.append(op))
    for name, op in names.items():
        raw = getattr(engine.ops, name)
        assert raw.__name__ == name and f"the TensorFlow op {op} " in raw.__doc__
        raw()
        assert ran[-1] == op, name


def test_raw_ops_take_the_ops_inputs_and_attrs():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(engine.ops.sum(x, [0, 2], keep_dims=True).numpy(), x.sum(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(engine.ops.max(x, 1).numpy(), x.max(axis=1))
    assert engine.ops.squeeze(x[:1], squeeze_dims=[0]).shape == (3, 4)
    assert engine.ops.reshape(x, [4, -1]).shape == (4, 6)
    assert engine.ops.cast(x, DstT="int32").dtype == "int32"
    np.testing.assert_array_equal(engine.ops.add(x, x).numpy(), 2 * x)
    np.testing.assert_array_equal(engine.tfjs.sum(x, 1, keepdims=True).numpy(), x.sum(axis=1, keepdims=True))
    image = np.random.default_rng(0).normal(size=(1, 5, 5, 2)).astype(np.float32)
    w = np.ones((3, 3, 2, 1), np.float32)
    y = engine.ops.conv2d(image, w, strides=[1, 1, 1, 1], padding="VALID")
    assert y.shape == (1, 3, 3, 1)
    np.testing.assert_allclose(y.numpy()[0, 0, 0, 0], image[0, :3, :3, :].sum(), rtol=1e-5)


def test_manual_forward_pass_from_loaded_weights(current_backend):
    artifacts = engine.io.load_model_json(fixture_path("small_cnn"))
    weights = engine.io.load_weights(artifacts.weights_manifest, artifacts.base)
    prefix = "StatefulPartitionedCall/small_cnn_1/probs_1/"
    kernel, bias = weights[prefix + "Cast/ReadVariableOp"], weights[prefix + "BiasAdd/ReadVariableOp"]
    assert isinstance(kernel, engine.Tensor) and kernel.shape == (12, 5)
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=current_backend)
    inputs = sources.inputs_for("small_cnn")
    hidden = model.execute(inputs, HIDDEN)
    manual = engine.tfjs.matmul(engine.tensor(hidden), kernel).add(bias).softmax().numpy()
    np.testing.assert_allclose(manual, model.predict(inputs), rtol=1e-5, atol=1e-7)


def test_input_and_output_names(backend):
    model = engine.load_graph_model(fixture_path("loop_cf2"), backend=backend)
    x = np.ones((2, 4), np.float32)
    by_key = model.execute({"x": x, "n": np.int32(3)}, ["result", "total"])
    by_tensor = model.execute({"x:0": x, "n:0": 3}, ["Identity:0", "Identity_1"])
    for a, b in zip(by_key, by_tensor):
        np.testing.assert_array_equal(a, b)
    single = model.execute({"x": x, "n": 3}, "total")
    assert isinstance(single, np.ndarray) and single.shape == (2,)
    predicted = model.predict([x, np.int32(3)] if model.inputs[0].name == "x" else [np.int32(3), x])
    assert set(predicted) == {"result", "total"}
    np.testing.assert_array_equal(predicted["total"], single)


def test_input_errors_name_the_problem():
    model = engine.load_graph_model(fixture_path("loop_cf1"), backend="cpu")
    x = np.ones((2, 4), np.float32)
    with pytest.raises(InputError, match="missing input"):
        model.predict({"x": x})
    with pytest.raises(InputError, match="unknown input 'y'"):
        model.predict({"x": x, "n": 1, "y": x})
    with pytest.raises(InputError, match="unknown output 'nope'"):
        model.execute({"x": x, "n": 1}, ["nope"])
    with pytest.raises(InputError, match="input 'x' must be float32"):
        model.predict({"x": x.astype(bool), "n": 1})
    with pytest.raises(InputError, match="pass a dict"):
        model.predict(x)


def _relu_model(placeholder_shape: dict, signature_shape: list[int], backend: str) -> engine.GraphModel:
    """x -> Relu, whose signature declares `signature_shape` and whose Placeholder `placeholder_shape`."""
    dims = {"dim": [{"size": str(d)} for d in signature_shape]}
    data = {"format": "graph-model", "weightsManifest": [],
            "modelTopology": {"node": [
                {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
                                                            "shape": {"shape": placeholder_shape}}},
                {"name": "y", "op": "Relu", "input": ["x"], "attr": {"T": {"type": "DT_FLOAT"}}}]},
            "signature": {"inputs": {"image": {"name": "x:0", "dtype": "DT_FLOAT", "tensorShape": dims}},
                          "outputs": {"out": {"name": "y:0", "dtype": "DT_FLOAT"}}}}
    return GraphModel(engine.io.parse_model_json(data, "."), {}, backend)


def test_inputs_are_checked_against_the_placeholder_shape_not_the_signature(backend):
    """As TF.js: a detector declared at 320x320 whose placeholder takes any size runs at 256x256."""
    model = _relu_model({"dim": [{"size": "1"}, {"size": "-1"}, {"size": "-1"}, {"size": "3"}]}, [1, 320, 320, 3],
                        backend)
    x = np.random.default_rng(0).normal(size=(1, 256, 256, 3)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), np.maximum(x, 0))
    assert model.inputs[0].shape == (1, 320, 320, 3)  # warm-ups still use the declared shape
    with pytest.raises(InputError, match=re.escape("input 'image' must have shape [1, -1, -1, 3] (-1: any), "
                                                   "got [1, 256, 256, 4]")):
        model.predict(np.zeros((1, 256, 256, 4), np.float32))
    with pytest.raises(InputError, match=re.escape("input 'image' must have shape [1, -1, -1, 3]")):
        model.predict(np.zeros((256, 256, 3), np.float32))


def test_an_unknown_rank_placeholder_takes_any_shape():
    """TF.js checks no shape where the placeholder has none, whatever the signature says."""
    model = _relu_model({"unknownRank": True}, [1, 4], "cpu")
    np.testing.assert_array_equal(model.predict(-np.ones((2, 3, 5), np.float32)), np.zeros((2, 3, 5)))


def test_warmup_and_repr(backend):
    model = engine.load_graph_model(fixture_path("small_cnn"), backend=backend)
    model.warmup()
    assert f"backend={backend}" in repr(model) and "image[None, 24, 24, 3]" in repr(model)


def test_load_from_file_url(backend):
    import pathlib
    url = pathlib.Path(fixture_path("small_cnn")).resolve().as_uri()
    model = engine.load_graph_model(url, backend=backend)
    assert model.predict(sources.inputs_for("small_cnn")).shape == (2, 5)


def _nan_inf_graph(p):
    import tensorflow as tf
    w = np.random.default_rng(5).normal(size=(3, 3, 3, 4)).astype(np.float32)
    y = tf.nn.relu(tf.nn.conv2d(p["x"], w, 1, "SAME"))
    pooled = tf.nn.max_pool2d(y, 2, 2, "VALID")
    return {"out": tf.nn.softmax(tf.reduce_mean(pooled, axis=[1, 2])), "pooled": pooled}


@pytest.mark.tf
def test_nan_and_inf_inputs_flow_through_as_in_tensorflow(backend):
    """Non-finite inputs are not rejected: outputs (NaN where TensorFlow has NaN) follow TensorFlow."""
    from tests.test_graph import model_from_tf_graph, run_tf1
    x = np.random.default_rng(3).random((2, 8, 8, 3), np.float32)
    x[0, 3, 4, 1], x[1, 5, 5, 0], x[1, 1, 1, 2] = np.nan, np.inf, -np.inf
    graph, names, want = run_tf1(_nan_inf_graph, {"x": x})
    model = model_from_tf_graph(graph, {"x": "x:0"}, {"out": names["out"], "pooled": names["pooled"]}, backend)
    got = model.predict(x)
    for key in ("out", "pooled"):
        assert not np.isfinite(want[key]).all()  # the non-finite values reach both outputs
        np.testing.assert_allclose(got[key], want[key], rtol=1e-4, atol=1e-5, equal_nan=True)


def test_writing_into_a_result_never_changes_the_model(backend):
    """A constant fetched as is (Identity of a Const) comes back as the caller's own copy; the model's
    constants are read-only, so no kernel writes into them either."""
    from engine.io import parse_model_json
    attr = {"T": {"type": "DT_FLOAT"}}
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "c", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "y", "op": "Mul", "input": ["x", "scale"], "attr": attr},
             {"name": "scale", "op": "Exp", "input": ["c"], "attr": attr},
             {"name": "z", "op": "Identity", "input": ["c"], "attr": attr}]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"y": {"name": "y:0"}, "z": {"name": "z:0"}}}}
    model = GraphModel(parse_model_json(data, "."), {"c": np.zeros(8, np.float32)}, backend)
    x = np.ones((2, 8), np.float32)
    for _ in range(4):  # the executor, the recording call and replays
        got = model.predict({"x": x})
        np.testing.assert_array_equal(got["y"], x)
        np.testing.assert_array_equal(got["z"], np.zeros(8, np.float32))
        got["z"][:] = 100
    assert not model.executor.constants["c"].numpy().flags.writeable
