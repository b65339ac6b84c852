"""Linked programs stay bounded as input shapes come and go (TFGL_LINKED_PROGRAMS): the programs bound
longest ago go, never one a live replay plan draws, and the uniform values remembered for them go too."""
import numpy as np
import pytest

import engine
from engine.webgl.programs import DEFAULT_PROGRAMS, linked_programs_kept
from tests.conftest import fixture_path, on_a_thread_of_its_own

pytestmark = pytest.mark.webgl

BATCHES = range(1, 9)


def _calls_with_new_batch_sizes():
    """Each batch size three times (the executor, its recording, a replay), then batch 1 again; the
    outputs, and what the backend kept."""
    from engine.backends import webgl as webgl_backend
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
    shape = [1 if d is None else d for d in model.inputs[0].shape]
    rng = np.random.default_rng(0)
    batches = {n: rng.random([n] + shape[1:], np.float32) for n in BATCHES}
    backend = webgl_backend.backend_for_thread()
    evicted = []
    evict = backend.programs.evict

    def spy(drawn):
        gone = evict(drawn)
        evicted.extend(gone)
        kept = [c for c in backend.programs.compiled.values() if c not in drawn]
        assert all(c.last_bound > g.last_bound for c in kept for g in gone)  # least recently bound first
        assert not any(g in drawn for g in gone)
        assert len(kept) <= backend.programs.kept  # beyond those drawn
        return gone
    backend.programs.evict = spy
    outputs = {n: [model.predict(x) for _ in range(3)] for n, x in batches.items()}
    again = model.predict(batches[1])
    plans = [p for p in model.replays._by_backend[backend].values() if not isinstance(p, str)]
    drawn = {c for plan in plans for c in plan.programs}
    linked = list(backend.programs.compiled.values())
    remembered = {program for program, _ in backend.uniform_values}
    return outputs, again, evicted, drawn, linked, remembered, backend.programs.kept


def test_programs_past_the_limit_go_but_never_those_a_live_plan_draws(webgl, monkeypatch):
    monkeypatch.setenv("TFGL_REPLAY_PLANS", "2")
    unbounded = on_a_thread_of_its_own(_calls_with_new_batch_sizes)
    monkeypatch.setenv("TFGL_LINKED_PROGRAMS", "3")
    outputs, again, evicted, drawn, linked, remembered, kept = on_a_thread_of_its_own(_calls_with_new_batch_sizes)
    assert kept == 3 and len(unbounded[4]) > 3  # the limit bites: without it, more stay linked
    assert evicted and len(evicted) == len({id(c) for c in evicted})
    assert drawn and drawn <= set(linked)           # every live plan's programs are still linked
    assert remembered <= {c.program for c in linked}  # no uniform value kept under a deleted program's name
    for n in BATCHES:  # the same bits as with every program kept, in every call
        for got, want in zip(outputs[n], unbounded[0][n]):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(again, unbounded[0][1][0])


def test_linked_programs_setting():
    assert linked_programs_kept({}) == DEFAULT_PROGRAMS
    assert linked_programs_kept({"TFGL_LINKED_PROGRAMS": "40"}) == 40
    for bad in ("0", "many"):
        with pytest.warns(RuntimeWarning, match="TFGL_LINKED_PROGRAMS must be a positive whole number"):
            assert linked_programs_kept({"TFGL_LINKED_PROGRAMS": bad}) == DEFAULT_PROGRAMS


def test_a_plan_recorded_before_other_shapes_evicted_programs_still_replays(webgl, monkeypatch):
    """Batch 1's plan outlives the programs that batches 2 and 3 evict: the ones it draws stay linked."""
    monkeypatch.setenv("TFGL_REPLAY_PLANS", "4")
    monkeypatch.setenv("TFGL_LINKED_PROGRAMS", "3")

    def calls():
        from engine.backends import webgl as webgl_backend
        model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
        shape = [1 if d is None else d for d in model.inputs[0].shape]
        rng = np.random.default_rng(1)
        batches = {n: rng.random([n] + shape[1:], np.float32) for n in (1, 2, 3)}
        first = {n: [model.predict(x) for _ in range(3)][0] for n, x in batches.items()}
        model.replays.last = None
        again = model.predict(batches[1])
        evicted = webgl_backend.backend_for_thread().stats.programs_evicted
        return first[1], again, model.replays.last is not None, evicted
    first, again, replayed, evicted = on_a_thread_of_its_own(calls)
    assert replayed and evicted > 0
    np.testing.assert_array_equal(again, first)
