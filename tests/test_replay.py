"""Replayed execution plans on the WebGL backend: the second call with given input shapes records,
later ones replay its draws; results stay those of the executor, runs whose draws depend on values
never replay, and a replay allocates nothing."""
import numpy as np
import pytest

import engine
from tests.conftest import fixture_path
from tests.test_graph import model_from_tf_graph, run_tf1

pytestmark = pytest.mark.webgl


def test_replayed_calls_match_the_cpu_backend(webgl, rng):
    path = fixture_path("mobilenet_v2")
    model = engine.load_graph_model(path, backend="webgl")
    cpu = engine.load_graph_model(path, backend="cpu")
    shape = tuple(1 if d is None else d for d in model.inputs[0].shape)
    for call in range(4):
        x = rng.random(shape, np.float32)
        np.testing.assert_allclose(model.predict(x), cpu.predict(x), rtol=1e-4, atol=1e-5)
        assert (model.replays.last is not None) == (call >= 2)
    assert model.replays.last.draws > 10


def test_replays_allocate_no_textures(webgl, rng):
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
    x = rng.random(tuple(1 if d is None else d for d in model.inputs[0].shape), np.float32)
    for _ in range(3):
        model.predict(x)
    backend = model.backend
    alive, compiled = backend.textures.textures_alive(), backend.stats.programs_made
    outputs = [model.predict(rng.random(x.shape, np.float32)) for _ in range(50)]
    assert backend.textures.textures_alive() == alive and backend.stats.programs_made == compiled
    assert not np.array_equal(outputs[0], outputs[1])  # fresh inputs reach the replayed draws


def test_other_input_shapes_get_their_own_plan(webgl, rng):
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
    cpu = engine.load_graph_model(fixture_path("small_cnn"), backend="cpu")
    shape = [1 if d is None else d for d in model.inputs[0].shape]
    for batch in (1, 3, 1, 3, 1, 3, 2):
        x = rng.random([batch] + shape[1:], np.float32)
        np.testing.assert_allclose(model.predict(x), cpu.predict(x), rtol=1e-4, atol=1e-5)


def random_noise(p):
    import tensorflow as tf
    return {"out": p["x"] * 2.0 + tf.random.uniform(tf.shape(p["x"]))}


def data_dependent_loop(p):
    import tensorflow as tf
    tf.compat.v1.disable_control_flow_v2()
    _, total = tf.while_loop(lambda i, acc: tf.reduce_sum(acc) < 1000.0, lambda i, acc: (i + 1, acc * 2.0 + 1.0),
                             [0, p["x"]])
    return {"out": total}


@pytest.mark.tf
@pytest.mark.parametrize("build", [random_noise, data_dependent_loop])
def test_runs_that_depend_on_values_never_replay(webgl, build, rng):
    x = rng.random((4, 40), np.float32)
    graph, names, expected = run_tf1(build, {"x": x})
    model = model_from_tf_graph(graph, {"x": "x:0"}, {"out": names["out"]}, "webgl")
    for call in range(4):
        inputs = rng.random((4, 40), np.float32) * (call + 1)
        out = model.predict(inputs)
        if build is data_dependent_loop:
            want = inputs
            while want.sum() < 1000.0:
                want = want * 2.0 + 1.0
            np.testing.assert_allclose(out, want, rtol=1e-5)
        else:
            assert np.all((out >= inputs * 2) & (out < inputs * 2 + 1))
    assert model.replays.last is None
