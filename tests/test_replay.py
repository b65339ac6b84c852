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


def selected_boxes(p):
    """Boxes that never overlap, scored by column 4: non-max suppression keeps those scoring above 0.5,
    as many as the input has. The kept boxes are gathered and scaled on the GPU again."""
    import tensorflow as tf
    boxes = p["x"][:, :4] * 1.0
    scores = p["x"][:, 4] + 0.0
    selected = tf.image.non_max_suppression(boxes, scores, max_output_size=8, iou_threshold=0.5,
                                            score_threshold=0.5)
    return {"boxes": tf.gather(boxes, selected) * 2.0 + 1.0, "selected": selected}


def boxes_scored(rng, kept: int) -> np.ndarray:
    """Eight disjoint boxes, `kept` of them (at random) scoring above 0.5."""
    rows = np.arange(8, dtype=np.float32)[:, None]
    scores = np.where(np.arange(8) < kept, 0.6 + 0.4 * rng.random(8), 0.4 * rng.random(8))
    x = np.concatenate([rows, rows * 0, rows + 0.5, rows * 0 + 1, rng.permutation(scores)[:, None]], axis=1)
    return x.astype(np.float32)


@pytest.mark.tf
def test_host_steps_replay_and_record_again_only_when_their_shape_changes(webgl, rng):
    """Non-max suppression runs inside the replay as a host step; a call whose number of selected boxes
    differs from the recording's runs the executor and records again. Every result is the executor's."""
    graph, names, _ = run_tf1(selected_boxes, {"x": boxes_scored(rng, 3)})
    model = model_from_tf_graph(graph, {"x": "x:0"}, names, "webgl")
    kept = [3, 3, 3, 3, 5, 5, 5, 3, 3]
    recordings, replayed = [], []
    for count in kept:
        x = boxes_scored(rng, count)
        model.replays.last = None
        got = model.predict(x)
        replayed.append(model.replays.last is not None)
        recordings.append(model.replays.recordings)
        model.replays.paused = True
        want = model.predict(x)
        model.replays.paused = False
        assert got["selected"].shape == (count,)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
        np.testing.assert_array_equal(got["boxes"], x[got["selected"], :4] * 2 + 1)
    assert recordings == [0, 1, 1, 1, 2, 2, 2, 3, 3]
    assert replayed == [False, False, True, True, False, True, True, False, True]


def branch_on_selection(p):
    import tensorflow as tf
    selected = tf.image.non_max_suppression(p["x"][:, :4] * 1.0, p["x"][:, 4] + 0.0, max_output_size=8,
                                            iou_threshold=0.5, score_threshold=0.5)
    return {"out": tf.cond(tf.reduce_sum(selected) > 6, lambda: p["x"] * 2.0, lambda: p["x"] - 1.0)}


@pytest.mark.tf
def test_control_flow_on_a_host_value_voids_the_recording(webgl, rng):
    graph, names, _ = run_tf1(branch_on_selection, {"x": boxes_scored(rng, 3)})
    model = model_from_tf_graph(graph, {"x": "x:0"}, names, "webgl")
    for _ in range(3):
        x = boxes_scored(rng, 4)
        model.predict(x)
    assert model.replays.last is None
    assert model.replays.void_reason == "control flow reads on the CPU a value Greater computed there"
