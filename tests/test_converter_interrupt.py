"""`tfgl convert` interrupted by SIGINT or SIGTERM while it runs: a non-zero exit, one line on stderr
(no traceback), no output folder (or the previous one untouched, with --overwrite) and no staging
folder left beside it."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from converter.output import signals_deferred, staged_folder
from tests.conftest import fixture_path

pytestmark = [pytest.mark.converter, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# TensorFlow's own C++ start-up lines (absl logging ignores TF_CPP_MIN_LOG_LEVEL before it is initialized)
TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl::InitializeLog)")


def _leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith(".tfgl-"))


def _our_lines(stderr: str) -> list[str]:
    """stderr's lines without TensorFlow's start-up logging and without progress-bar redraws."""
    lines = []
    for line in stderr.splitlines():
        line = line.rsplit("\r", 1)[-1].strip()  # a tqdm bar redraws with \r and clears itself
        if line and not TF_LOG.match(line):
            lines.append(line)
    return lines


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "overwrite"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_conversion_leaves_nothing_behind(signum, existing, tmp_path):
    out = tmp_path / "saved_model"
    if existing:
        out.mkdir()
        (out / "keep.txt").write_text("the previous conversion")
    command = [sys.executable, "-m", "engine.cli", "convert", fixture_path("mobilenet_v2"), str(out),
               "--input_format=tfjs_graph_model", "--output_format=tf_saved_model"]
    if existing:
        command.append("--overwrite")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    process = subprocess.Popen(command, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        # The staging folder appears before TensorFlow is imported and the conversion starts; the
        # conversion itself takes seconds after that, so the signal lands while it runs.
        deadline = time.monotonic() + 120
        while not _leftovers(tmp_path):
            assert process.poll() is None, f"convert ended before its staging folder appeared:\n{process.stderr.read()}"
            assert time.monotonic() < deadline, "no staging folder appeared within 120 s"
            time.sleep(0.005)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode not in (0, None), f"exit status {process.returncode}; stdout: {stdout!r}"
    assert process.returncode > 0, f"killed by signal {-process.returncode} instead of exiting: nothing cleaned up"
    assert "Traceback" not in stderr, stderr
    assert _our_lines(stderr) == ["tfgl convert: interrupted"], stderr
    assert "wrote" not in stdout
    assert _leftovers(tmp_path) == []
    if existing:
        assert sorted(os.listdir(out)) == ["keep.txt"]
        assert (out / "keep.txt").read_text() == "the previous conversion"
    else:
        assert not out.exists()


def test_a_signal_during_the_swap_waits_until_it_is_done(tmp_path, monkeypatch):
    """SIGINT arriving between the swap's two renames (old output moved aside, new one not yet in
    place) is delivered once the swap is complete: the new output is whole, and neither the old one
    nor the staging folder is left beside it."""
    import converter.output as output
    out = tmp_path / "web_model"
    out.mkdir()
    (out / "old.txt").write_text("old")
    real_rename = os.rename

    def rename(source, destination):
        real_rename(source, destination)
        if os.path.basename(destination).startswith(".tfgl-old-"):
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(output.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(str(out), overwrite=True) as folder:
            with open(os.path.join(folder, "model.json"), "w") as file:
                file.write("{}")
    assert sorted(os.listdir(out)) == ["model.json"] and _leftovers(tmp_path) == []


def test_signals_deferred_delivers_afterwards_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            signal.raise_signal(signal.SIGINT)
            reached_the_end = True
    assert reached_the_end
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
