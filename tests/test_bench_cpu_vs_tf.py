"""bench/cpu_vs_tf.py: the paired-ratio summary, and one round end to end on the shipped example
model (TensorFlow runs tfgl's SavedModel conversion of it)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import EXAMPLE_MODEL

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "cpu_vs_tf.py"
sys.path.insert(0, str(SCRIPT.parent))
import cpu_vs_tf  # noqa: E402


def test_summary_takes_medians_and_pairs_ratios_within_rounds():
    rounds = [{"tensorflow": {"median": 10.0}, "tfgl cpu": {"median": 12.0}},
              {"tensorflow": {"median": 20.0}, "tfgl cpu": {"median": 16.0}},
              {"tensorflow": {"median": 11.0}, "tfgl cpu": {"error": "crashed"}}]
    summary = cpu_vs_tf.summarize(rounds)
    assert summary["tensorflow"] == 11.0 and summary["tfgl cpu"] == 14.0
    assert summary["tfgl cpu / tensorflow"] == pytest.approx((1.2 + 0.8) / 2)


def test_summary_pairs_cpu_times_too():
    rounds = [{"tensorflow": {"median": 10.0, "cpu_median": 16.0}, "tfgl cpu": {"median": 12.0, "cpu_median": 8.0}},
              {"tensorflow": {"median": 20.0, "cpu_median": 20.0}, "tfgl cpu": {"median": 16.0, "cpu_median": 15.0}}]
    summary = cpu_vs_tf.summarize(rounds)
    assert summary["tensorflow cpu time"] == 18.0 and summary["tfgl cpu cpu time"] == 11.5
    assert summary["tfgl cpu / tensorflow cpu time"] == pytest.approx((0.5 + 0.75) / 2)


@pytest.mark.tf
@pytest.mark.slow
def test_one_round_on_the_example_model(tmp_path):
    out = tmp_path / "report.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--models", EXAMPLE_MODEL, "--rounds", "1", "--runs", "2",
                             "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (model,) = json.loads(out.read_text())["models"].values()
    (round_,) = model["rounds"]
    for name in ("tensorflow", "tfgl cpu"):
        assert round_[name]["median"] > 0 and len(round_[name]["calls"]) == 3, round_[name]
        assert round_[name]["cpu_median"] > 0, round_[name]
    assert model["summary"]["tfgl cpu / tensorflow"] > 0
    assert model["summary"]["tfgl cpu / tensorflow cpu time"] > 0
    assert "| tfgl cpu / TF |" in result.stdout and "| tfgl cpu CPU ms |" in result.stdout
