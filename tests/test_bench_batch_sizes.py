"""bench/batch_sizes.py end to end on the shipped example model: a worker's counts add up, and the
side-by-side table prints a row per tree and their ratio."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "batch_sizes.py"
sys.path.insert(0, str(SCRIPT.parent))
import batch_sizes  # noqa: E402

pytestmark = pytest.mark.webgl


def test_a_worker_counts_each_sizes_programs_and_first_call(webgl):
    done = subprocess.run([sys.executable, str(SCRIPT), "--sizes", "3", "--worker"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert len(result["made"]) == len(result["first_ms"]) == 3
    assert result["made"][0] > 0 and all(ms > 0 for ms in result["first_ms"])
    assert sum(result["made"]) == result["linked"]  # an empty cache, nothing evicted
    assert result["rss_mb"] > 0


def test_the_table_compares_two_trees(webgl):
    """A model path relative to where it is run from: the workers run elsewhere."""
    tree = SCRIPT.parent.parent
    done = subprocess.run([sys.executable, str(SCRIPT), "engine/examples/small_cnn/model.json", "--sizes", "2",
                           "--before", str(tree)], capture_output=True, text=True, timeout=300, cwd=tree)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:4]] == ["this", "before"]
    assert lines[-1].startswith("new size's first call, this tree / before: ") and lines[-1].endswith("x")


def test_a_model_without_a_batch_dimension_is_refused(webgl, tmp_path):
    """The example model with its input's batch fixed at 1 in the signature."""
    source = SCRIPT.parent.parent / "engine" / "examples" / "small_cnn"
    for path in source.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    spec = json.loads((source / "model.json").read_text())
    spec["signature"]["inputs"]["image"]["tensorShape"]["dim"][0]["size"] = "1"
    (tmp_path / "model.json").write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "model.json"), "--sizes", "2", "--worker"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "no input has an unknown batch dimension" in done.stderr


def test_workers_keep_the_callers_path_after_their_tree():
    env = batch_sizes.worker_environment(Path("/trees/before"), {"PYTHONPATH": "/site", "HOME": "/root"})
    assert env["PYTHONPATH"] == os.pathsep.join(["/trees/before", "/site"]) and env["HOME"] == "/root"
    assert batch_sizes.worker_environment(Path("/t"), {})["PYTHONPATH"] == "/t"


@pytest.mark.parametrize("args", [["--sizes", "1"], ["--rounds", "0"]])
def test_too_few_sizes_or_rounds_are_refused(args, capsys):
    with pytest.raises(SystemExit) as stop:
        batch_sizes.main(args)
    assert stop.value.code == 2 and "--sizes takes 2 or more" in capsys.readouterr().err
