"""bench/replay_overhead.py on the shipped example model: the plan's GL calls issued for real and
into no-op stubs, and the model's replays unharmed after."""
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.cli import EXAMPLE_MODEL
from tests.conftest import on_a_thread_of_its_own

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import replay_overhead  # noqa: E402

pytestmark = pytest.mark.webgl


def test_tfgls_share_of_a_replayed_draw_is_measured_apart_from_the_drivers(webgl):
    """The real runs leave the plan's uniforms as its own last run did, the stubbed ones change
    nothing: the model's replays after give the same bits as before."""
    import engine
    from engine.bench import example_inputs

    def run():
        model = engine.load_model(EXAMPLE_MODEL, backend="webgl")
        inputs = example_inputs(model)
        before = model.predict(inputs)
        result = replay_overhead.measure_model(model, runs=5)
        plan = model.replays.last
        after = [model.predict(inputs) for _ in range(2)]
        return result, before, after, model.replays.last is plan
    result, before, after, replayed = on_a_thread_of_its_own(run)
    assert result["draws"] > 0 and result["gl_calls_per_draw"] >= 2  # a framebuffer bind and a draw at least
    assert 0 < result["tfgl_us"] < result["with_driver_us"]
    assert replayed
    for y in after:
        np.testing.assert_array_equal(y, before)


def test_a_model_that_does_not_replay_says_why(webgl, monkeypatch):
    monkeypatch.setenv("TFGL_REPLAY", "0")
    result = on_a_thread_of_its_own(lambda: replay_overhead.measure(EXAMPLE_MODEL, runs=2))
    assert result["error"] == "does not replay: replays are off (TFGL_REPLAY=0)"


def test_a_model_that_fails_gets_its_error_in_its_row_and_the_others_still_run(webgl, tmp_path, capsys):
    missing = str(tmp_path / "missing" / "model.json")
    assert on_a_thread_of_its_own(lambda: replay_overhead.main([missing, EXAMPLE_MODEL, "--runs", "2"])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[1:4] == ["WeightsError:", "file", "not"]
    numbers = lines[3].split()[-5:]
    assert len(numbers) == 5 and all(float(n) >= 0 for n in numbers[:4])
    assert lines[-1].startswith("on ")
