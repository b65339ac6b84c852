"""Replayed execution plans on the WebGL backend: the second call with given input shapes records,
later ones replay its draws; results stay those of the executor, runs whose draws depend on values
never replay, and a replay allocates nothing."""
import weakref

import numpy as np
import pytest

import engine
from engine.errors import KernelError
from tests.conftest import collection_held_off, fixture_path
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


def test_a_recording_reuses_the_textures_the_call_before_it_freed(webgl, rng):
    """The second call records into textures of its own, taken from those the first call used and
    freed (already allocated and written) before any new one is made; its results are the same."""
    model = engine.load_graph_model(fixture_path("mobilenet_v2"), backend="webgl")
    x = rng.random(tuple(1 if d is None else d for d in model.inputs[0].shape), np.float32)
    first = model.predict(x)
    shared = model.backend.textures
    # No model an earlier test left in a reference cycle may free its textures mid-count.
    with collection_held_off():
        free_before = sum(len(textures) for textures in shared._free.values())
        second = model.predict(x)
        free_after = sum(len(textures) for textures in shared._free.values())
    replay = model.replays._entries(model.backend)[next(iter(model.replays._entries(model.backend)))]
    lent = free_before - free_after
    assert lent > 10 and replay.pool.created < lent  # mostly the first call's textures, few new ones
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(model.predict(x), first)  # replayed in them
    assert model.replays.last is replay
    pools = (shared, replay.pool)  # texture_bytes counts the plan's textures too (and other models' plans)
    assert replay.pool in model.backend.replay_pools
    assert model.backend.texture_bytes() >= sum(pool.bytes_in_use + pool.bytes_free for pool in pools)
    assert replay.pool.bytes_free > 0  # its textures, between its replays


@pytest.mark.parametrize("name, load", [("small_cnn", engine.load_graph_model),
                                        ("layers_cnn", engine.load_layers_model)])
def test_a_model_let_go_frees_its_plans_textures_at_once(webgl, rng, name, load):
    """Nothing of a model refers back to it: its last reference gone, its plans' textures are free
    for the next model, with no garbage collection needed to find them."""
    model = load(fixture_path(name), backend="webgl")
    x = rng.random(tuple(1 if d is None else d for d in model.inputs[0].shape), np.float32)
    for _ in range(3):
        model.predict(x)
    shared = model.backend.textures
    held = sum(plan.pool.textures_alive() for plan in model.replays._entries(model.backend).values())
    gone = weakref.ref(model)
    with collection_held_off():
        alive_before = shared.textures_alive()
        del model
        freed = shared.textures_alive() - alive_before
    assert gone() is None and held > 0 and freed >= held


def test_replays_bind_textures_one_unit_at_a_time_without_multi_bind(webgl, rng, monkeypatch):
    """Contexts older than GL 4.4 lack glBindTextures: replays bind each texture unit by itself."""
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
    cpu = engine.load_graph_model(fixture_path("small_cnn"), backend="cpu")
    monkeypatch.setattr(model.backend.gl, "BindTextures", None)
    shape = tuple(1 if d is None else d for d in model.inputs[0].shape)
    for _ in range(4):
        x = rng.random(shape, np.float32)
        np.testing.assert_allclose(model.predict(x), cpu.predict(x), rtol=1e-4, atol=1e-5)
    assert model.replays.last is not None


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
def test_random_ops_never_replay(webgl, rng):
    graph, names, _ = run_tf1(random_noise, {"x": rng.random((4, 40), np.float32)})
    model = model_from_tf_graph(graph, {"x": "x:0"}, {"out": names["out"]}, "webgl")
    for call in range(4):
        inputs = rng.random((4, 40), np.float32) * (call + 1)
        out = model.predict(inputs)
        assert np.all((out >= inputs * 2) & (out < inputs * 2 + 1))
    assert model.replays.last is None
    assert model.replays.void_reason == "RandomUniform gives new values every call"


# Sums of the loop's input (160 values) for which it runs 0, 1, 2, 3 or 4 times.
LOOP_SUMS = {0: 1500.0, 1: 700.0, 2: 250.0, 3: 50.0, 4: -50.0}


@pytest.mark.tf
def test_control_flow_replays_while_it_takes_the_branches_it_was_recorded_with(webgl, rng):
    """The loop's predicate, read on the CPU at every iteration, is a guard of the plan: calls that loop
    as often as the recorded one replay; one that loops otherwise records again, and after three such
    calls in a row the model stops replaying."""
    graph, names, _ = run_tf1(data_dependent_loop, {"x": rng.random((4, 40), np.float32)})
    model = model_from_tf_graph(graph, {"x": "x:0"}, {"out": names["out"]}, "webgl")
    replayed, recordings = [], []
    for loops in [2, 2, 2, 2, 1, 1, 3, 4, 0, 2, 2]:
        x = (LOOP_SUMS[loops] / 160 + 0.2 * (rng.random((4, 40)) - 0.5)).astype(np.float32)
        model.replays.last = None
        out = model.predict(x)
        replayed.append(model.replays.last is not None)
        recordings.append(model.replays.recordings)
        want = x
        for _ in range(loops):
            want = want * 2.0 + 1.0
        np.testing.assert_allclose(out, want, rtol=1e-6)
    assert replayed == [False, False, True, True, False, True, False, False, False, False, False]
    assert recordings == [0, 1, 1, 1, 2, 2, 3, 4, 4, 4, 4]
    assert model.replays.void_reason.startswith("its guards failed 3 calls in a row (control flow read [False]")


def test_reading_many_values_on_the_cpu_voids_the_recording(webgl, rng):
    """A guard on them would cost each replay a comparison of them all."""
    backend = engine.backends.webgl.backend_for_thread()
    x = rng.random((300,), np.float32)

    def run(feeds):
        doubled = backend.run("Mul", [feeds["x"], engine.tensor(np.float32(2))])[0]
        doubled.numpy()
        return [doubled]
    results, plan = backend.record(run, {"x": engine.tensor(x)})
    np.testing.assert_array_equal(results[0].numpy(), x * 2)
    assert plan == "control flow reads on the CPU 300 values (a value of the GPU)"


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
    return boxes_kept_at(rng, rng.choice(8, kept, replace=False))


def boxes_kept_at(rng, positions) -> np.ndarray:
    """Eight disjoint boxes, those at `positions` scoring above 0.5."""
    rows = np.arange(8, dtype=np.float32)[:, None]
    scores = np.where(np.isin(np.arange(8), positions), 0.6 + 0.4 * rng.random(8), 0.4 * rng.random(8))
    x = np.concatenate([rows, rows * 0, rows + 0.5, rows * 0 + 1, scores[:, None]], axis=1)
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
def test_control_flow_on_a_host_value_guards_the_plan(webgl, rng):
    """The branch depends on which boxes non-max suppression keeps (a value a host step computes):
    calls that take the recorded branch replay, one that takes the other records again."""
    graph, names, _ = run_tf1(branch_on_selection, {"x": boxes_scored(rng, 3)})
    model = model_from_tf_graph(graph, {"x": "x:0"}, names, "webgl")
    kept = [(0, 1, 2), (0, 1, 3), (1, 2, 3), (5, 6, 7), (4, 6, 7)]  # index sums 3, 4, 6, 18, 17
    assert replays_equal_the_executor(model, [boxes_kept_at(rng, p) for p in kept]) == [False, False, True, False, True]
    assert model.replays.recordings == 2


def replays_equal_the_executor(model, inputs: list) -> list[bool]:
    """Calls the model on each input (replayed where it can), asserting each result equals the executor's
    bit for bit; returns which calls replayed."""
    replayed = []
    for x in inputs:
        model.replays.last = None
        got = model.predict(x)
        replayed.append(model.replays.last is not None)
        model.replays.paused = True
        want = model.predict(x)
        model.replays.paused = False
        for key in (want if isinstance(want, dict) else [None]):
            np.testing.assert_array_equal(got if key is None else got[key], want if key is None else want[key])
    return replayed


@pytest.mark.parametrize("name", ["lstm_cf1", "lstm_cf2"])
def test_loops_over_shapes_replay_with_tensor_lists_as_host_steps(webgl, rng, name):
    """v1 and v2 loops whose trip counts come from shapes; their TensorList ops run as host steps."""
    model = engine.load_graph_model(fixture_path(name), backend="webgl")
    shape = tuple(1 if d is None else d for d in model.inputs[0].shape)
    assert replays_equal_the_executor(model, [rng.random(shape, np.float32) for _ in range(4)]) == \
        [False, False, True, True]
    assert model.replays.last.host_steps > 0


def tensor_array_squares(p):
    import tensorflow as tf
    rows = tf.TensorArray(tf.float32, size=tf.shape(p["x"])[0]).unstack(p["x"] * 1.0)
    squares = tf.TensorArray(tf.float32, size=tf.shape(p["x"])[0])
    _, squares = tf.while_loop(lambda i, out: i < tf.shape(p["x"])[0],
                               lambda i, out: (i + 1, out.write(i, tf.square(rows.read(i)) + 1.0)), [0, squares])
    return {"out": squares.stack()}


@pytest.mark.tf
def test_tensor_arrays_are_made_anew_by_each_replay(webgl, rng):
    """A TensorArray is mutable (each slot written once): every replay makes its own as a host step."""
    x = rng.random((5, 3), np.float32)
    graph, names, expected = run_tf1(tensor_array_squares, {"x": x})
    model = model_from_tf_graph(graph, {"x": "x:0"}, names, "webgl")
    np.testing.assert_allclose(model.predict(x), expected["out"], rtol=1e-6)
    assert replays_equal_the_executor(model, [rng.random((5, 3), np.float32) for _ in range(3)]) == [False, True, True]


def floor_divide(p):
    import tensorflow as tf
    return {"out": tf.cast(p["x"], tf.int32) // tf.cast(p["y"], tf.int32)}


@pytest.mark.tf
def test_a_host_step_that_fails_hands_the_call_to_the_executor(webgl, rng):
    """Integer division by a divisor only the GPU holds runs as a host step; dividing by zero in a replay
    raises the executor's error, naming the node, and the next call records again."""
    x, y = rng.integers(-50, 50, 6).astype(np.float32), rng.integers(1, 9, 6).astype(np.float32)
    graph, names, _ = run_tf1(floor_divide, {"x": x, "y": y})
    model = model_from_tf_graph(graph, {"x": "x:0", "y": "y:0"}, names, "webgl")
    for _ in range(3):
        np.testing.assert_array_equal(model.predict({"x": x, "y": y}), x // y)
    assert model.replays.last.host_steps == 1 and model.replays.recordings == 1
    with pytest.raises(KernelError, match="floordiv.*Integer division by zero"):
        model.predict({"x": x, "y": y * 0})
    model.replays.last = None
    for _ in range(2):
        np.testing.assert_array_equal(model.predict({"x": x, "y": y + 1}), x // (y + 1))
    assert model.replays.recordings == 2 and model.replays.last is not None


def top_k_and_segment_sums(p):
    """TopKV2, UnsortedSegmentSum (ids from the data) and Diag: GL kernels of several draws each."""
    import tensorflow as tf
    values, indices = tf.math.top_k(p["x"], k=5)
    ids = tf.cast(tf.floor(p["x"][:, 0] * 3.0), tf.int32) - 1
    sums = tf.math.unsorted_segment_sum(p["x"], ids, 4)
    return {"values": values, "indices": indices, "sums": sums, "diag": tf.linalg.tensor_diag(values[0])}


@pytest.mark.tf
def test_top_k_and_segment_sums_replay(webgl, rng):
    """Results stay the CPU backend's (whose kernels tests/kernels check against TensorFlow)."""
    graph, names, _ = run_tf1(top_k_and_segment_sums, {"x": rng.random((3, 40), np.float32)})
    model = model_from_tf_graph(graph, {"x": "x:0"}, names, "webgl")
    cpu = model_from_tf_graph(graph, {"x": "x:0"}, names, "cpu")
    fallbacks = model.backend.stats.cpu_fallbacks.get("TopKV2", 0)
    for call in range(4):
        x = rng.random((3, 40), np.float32)
        got, want = model.predict(x), cpu.predict(x)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
        assert (model.replays.last is not None) == (call >= 2)
    assert model.backend.stats.cpu_fallbacks.get("TopKV2", 0) == fallbacks


def test_a_model_forgets_the_oldest_shapes_merely_seen_before_those_it_learned_about():
    from engine.graph import replay

    class Plan:
        discarded = False

        def discard(self):
            self.discarded = True
    plans = [Plan() for _ in range(3)]
    entries = {"old plan": plans[0], "seen 1": replay._SEEN, "unreplayable": replay._Unreplayable("a random op"),
               "warmed": replay._WARMED, "seen 2": replay._SEEN, "plan": plans[1], "seen 3": replay._SEEN,
               "newest plan": plans[2], "seen 4": replay._SEEN}
    forgotten = replay._keep_bounded(entries, kept=2)  # 2 plans, and at most 8 entries
    assert plans[0].discarded and not plans[1].discarded and not plans[2].discarded
    # The dropped plan's shape counts as merely seen now, the oldest of them: forgotten first.
    assert forgotten == ["old plan"] and len(entries) == 8
    forgotten = replay._keep_bounded(entries, kept=1)
    assert forgotten == ["seen 1", "seen 2", "plan", "seen 3"]
    assert list(entries) == ["unreplayable", "warmed", "newest plan", "seen 4"]


def test_plans_kept_setting(monkeypatch):
    from engine.graph import replay
    monkeypatch.delenv("TFGL_REPLAY_PLANS", raising=False)
    assert replay.plans_kept() == replay.DEFAULT_PLANS
    monkeypatch.setenv("TFGL_REPLAY_PLANS", "3")
    assert replay.plans_kept() == 3
    for bad in ("0", "many", "-2"):
        monkeypatch.setenv("TFGL_REPLAY_PLANS", bad)
        with pytest.warns(RuntimeWarning, match="TFGL_REPLAY_PLANS must be a positive whole number"):
            assert replay.plans_kept() == replay.DEFAULT_PLANS
