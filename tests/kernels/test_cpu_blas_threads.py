"""Whether a workload's calls use OpenBLAS's threads (engine.kernels.cpu.blas.ThreadChoice): the
faster way wins, one slow call does not flip it, the losing way is tried again less and less often
and wins back when the machine changes; OpenBLAS's setting always comes back; either way computes
the same bits."""
import contextlib

import numpy as np
import pytest

import engine
from engine.kernels.cpu import blas
from tests.conftest import fixture_path

needs_openblas = pytest.mark.skipif(blas._OPENBLAS is None or blas._OPENBLAS[0]() < 2,
                                     reason="numpy's BLAS here is not OpenBLAS with several threads")


def feed(choice: blas.ThreadChoice, single_ms: float, threaded_ms: float, calls: int) -> list[bool]:
    """`calls` calls costing these times each way; the way each call ran."""
    ways = []
    for _ in range(calls):
        threaded = choice.threaded_next()
        choice.record(threaded, (threaded_ms if threaded else single_ms) / 1e3)
        ways.append(threaded)
    return ways


@pytest.mark.parametrize("threads_faster", [True, False])
def test_the_faster_way_wins_after_samples_of_both(threads_faster):
    choice = blas.ThreadChoice()
    single, threaded = (14.0, 11.0) if threads_faster else (13.0, 23.0)
    ways = feed(choice, single, threaded, 2 * blas.SAMPLES + 10)
    assert ways[:2 * blas.SAMPLES].count(True) == blas.SAMPLES  # both ways timed first
    assert ways[2 * blas.SAMPLES:] == [threads_faster] * 10


def test_one_slow_call_does_not_flip_the_choice():
    choice = blas.ThreadChoice()
    feed(choice, 14.0, 11.0, 2 * blas.SAMPLES)
    choice.record(True, 0.090)  # a scheduler hiccup on the winning way
    assert feed(choice, 14.0, 11.0, 5) == [True] * 5


def test_the_losing_way_is_tried_less_often_each_time_it_loses():
    choice = blas.ThreadChoice()
    ways = feed(choice, 14.0, 11.0, 2 * blas.SAMPLES + blas.FIRST_RETRY * 7)
    tries = [index for index, threaded in enumerate(ways) if not threaded and index >= 2 * blas.SAMPLES]
    gaps = np.diff(tries).tolist()
    assert gaps == [2 * blas.FIRST_RETRY, 4 * blas.FIRST_RETRY]
    assert choice.retry_every == 8 * blas.FIRST_RETRY
    feed(choice, 14.0, 11.0, 20 * blas.LAST_RETRY)
    assert choice.retry_every == blas.LAST_RETRY


def test_a_machine_that_gets_busy_turns_the_threads_off_and_back_on():
    choice = blas.ThreadChoice()
    feed(choice, 14.0, 11.0, 50)
    busy = feed(choice, 14.0, 23.0, 60)  # another process takes a core: threaded calls slow down
    assert busy[-20:] == [False] * 20
    quiet_again = feed(choice, 14.0, 11.0, 400)
    assert quiet_again[-20:] == [True] * 20


@needs_openblas
def test_a_single_threaded_call_restores_openblas_setting():
    get = blas._OPENBLAS[0]
    before = get()
    choice = blas.ThreadChoice()
    seen = []
    for _ in range(1 + 2 * blas.SAMPLES):
        with choice.call():
            seen.append(get())
    assert seen[0] == before  # the first call is not timed and runs as OpenBLAS is set
    assert sorted(seen[1:]) == [1] * blas.SAMPLES + [before] * blas.SAMPLES
    assert get() == before
    with pytest.raises(RuntimeError), choice.call():  # a failing call restores it, and is not timed
        raise RuntimeError("the kernel failed")
    assert get() == before
    assert sum(map(len, choice.times)) == 2 * blas.SAMPLES
    with blas.single_threaded():
        assert get() == 1 and not blas.threads_can_help()
        with blas.single_threaded():
            assert get() == 1
        assert get() == 1
    assert get() == before


def _counted_threads():
    """A stand-in for `threads()` that notes each entry: (the entries, the context manager)."""
    entered = []

    @contextlib.contextmanager
    def threads():
        entered.append(True)
        yield
    return entered, threads


def test_the_first_call_runs_the_threaded_way_and_is_not_timed():
    """The first call starts the threaded way's threads: on OpenMP, running it on OpenBLAS's threads
    instead would leave those spinning against OpenMP's through the timed calls after it."""
    entered, threads = _counted_threads()
    choice = blas.ThreadChoice()
    with choice.call(threads):
        pass
    assert entered == [True] and choice.calls == 1 and not any(choice.times)


@needs_openblas
def test_where_threads_cannot_help_no_call_runs_the_threaded_way():
    """OpenBLAS held at one thread (as OPENBLAS_NUM_THREADS=1 does): no call, the first included,
    enters `threads()` (OpenMP's threads, with the OpenMP kernels)."""
    entered, threads = _counted_threads()
    choice = blas.ThreadChoice()
    with blas.single_threaded():
        for _ in range(1 + 2 * blas.SAMPLES):
            with choice.call(threads):
                pass
    assert entered == [] and not any(choice.times)


@needs_openblas
def test_either_way_computes_the_same_bits():
    model = engine.load_graph_model(fixture_path("mobilenet_v2"), backend="cpu")
    x = np.random.default_rng(0).uniform(-1, 1, (2, *model.inputs[0].shape[1:])).astype(np.float32)
    model.backend._thread_choices.clear()  # the backend is this thread's: other tests' models were here
    outputs = [model.predict(x) for _ in range(1 + 2 * blas.SAMPLES)]
    (choice,) = model.backend._thread_choices.values()
    assert [len(times) for times in choice.times] == [blas.SAMPLES] * 2  # both ways ran
    for output in outputs[1:]:
        np.testing.assert_array_equal(output, outputs[0])
