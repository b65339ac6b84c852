"""Program binaries under $TFGL_CACHE/programs: a fresh process loads what an earlier one linked, with
bit-identical outputs; a corrupt, truncated, foreign-driver or stale entry is compiled again and
rewritten; processes filling the cache at once leave it whole; the size bound evicts the least
recently used entries; an unusable folder means one warning and right answers; TFGL_PROGRAM_CACHE=0
and TFGL_PROGRAM_BINARIES=0 write none; `tfgl cache info|clear` see them.

The program cache is chosen at a process's first GL context, and this test process has made its own
already: every case that runs the model does it in a fresh subprocess (tests/test_shader_cache.py's)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.cli import EXAMPLE_MODEL, main
from engine.webgl import program_cache
from tests.test_shader_cache import PREDICT, ROOT, expected_output, fresh_environment


def predict_process(env: dict, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PREDICT, EXAMPLE_MODEL, str(out)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, out: Path) -> dict:
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    first, again = np.load(out), np.load(str(out) + ".again.npy")
    assert first.tobytes() == again.tobytes()
    np.testing.assert_allclose(first, expected_output(), rtol=1e-4, atol=1e-5)
    report["output"] = first.tobytes()
    return report


def predict(env: dict, out: Path) -> dict:
    return finish(predict_process(env, out), out)


def entries(root: Path) -> dict[str, bytes]:
    folder = root / "programs"
    return {path.name: path.read_bytes() for path in folder.iterdir()} if folder.exists() else {}


@pytest.fixture
def filled(tmp_path, webgl):
    """(environment, the first process's report, its entries): a cache one process filled."""
    env = fresh_environment(tmp_path)
    first = predict(env, tmp_path / "first.npy")
    written = entries(tmp_path / "cache")
    assert first["compiled"] > 0 and first["loaded"] == 0 and not first["warnings"]
    assert len(written) == first["compiled"] and all(name.endswith(".bin") for name in written)
    return env, first, written


def test_second_process_loads_every_program_with_identical_outputs(tmp_path, filled):
    env, first, written = filled
    folder = tmp_path / "cache" / "programs"
    for path in folder.iterdir():
        os.utime(path, (1000, 1000))
    second = predict(env, tmp_path / "second.npy")
    assert (second["compiled"], second["loaded"]) == (0, first["compiled"])
    assert second["output"] == first["output"]
    assert entries(tmp_path / "cache") == written
    assert all(path.stat().st_mtime > time.time() - 600 for path in folder.iterdir()), "hits are not touched"
    # and without binaries (the driver caches kept), the same bits
    unbinaried = predict(dict(env, TFGL_PROGRAM_BINARIES="0"), tmp_path / "plain.npy")
    assert (unbinaried["compiled"], unbinaried["loaded"]) == (first["compiled"], 0)
    assert unbinaried["output"] == first["output"]


def _corrupt(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 8]) + data[middle + 8:]


def _foreign(data: bytes) -> bytes:
    entry = program_cache.parse(data)
    driver = program_cache.Driver(entry.driver.vendor, entry.driver.renderer + " (another GPU)", entry.driver.version)
    return program_cache.encode(entry.key, driver, entry.binary_format, entry.binary)


def _stale(data: bytes) -> bytes:
    """What an updated driver would see: a well-formed entry whose binary it does not accept."""
    entry = program_cache.parse(data)
    garbage = bytes((i * 7 + 3) % 256 for i in range(len(entry.binary)))
    return program_cache.encode(entry.key, entry.driver, entry.binary_format, garbage)


@pytest.mark.parametrize("damage", [_corrupt, lambda data: data[:len(data) // 2], _foreign, _stale],
                         ids=["corrupt", "truncated", "foreign-driver", "stale"])
def test_a_bad_entry_is_compiled_again_and_rewritten(tmp_path, filled, damage):
    env, first, written = filled
    folder = tmp_path / "cache" / "programs"
    for name, data in written.items():
        (folder / name).write_bytes(damage(data))
    second = predict(env, tmp_path / "second.npy")
    assert (second["compiled"], second["loaded"]) == (first["compiled"], 0)
    assert second["output"] == first["output"] and not second["warnings"]
    rewritten = entries(tmp_path / "cache")
    assert set(rewritten) == set(written)
    assert all(program_cache.parse(data) is not None for data in rewritten.values())
    third = predict(env, tmp_path / "third.npy")
    assert (third["compiled"], third["loaded"]) == (0, first["compiled"])


def test_concurrent_writers_leave_a_whole_cache(tmp_path, webgl):
    env = fresh_environment(tmp_path)
    outs = [tmp_path / f"out{i}.npy" for i in range(4)]
    processes = [predict_process(env, out) for out in outs]
    reports = [finish(process, out) for process, out in zip(processes, outs)]
    assert len({report["output"] for report in reports}) == 1
    written = entries(tmp_path / "cache")
    count = max(report["compiled"] + report["loaded"] for report in reports)
    assert len(written) == count, sorted(written)  # no temporary file left, no partial entry
    assert all(program_cache.parse(data) is not None for data in written.values())
    after = predict(env, tmp_path / "after.npy")
    assert (after["compiled"], after["loaded"]) == (0, count) and after["output"] == reports[0]["output"]


def test_full_cache_evicts_least_recently_used_entries(tmp_path, webgl):
    env = fresh_environment(tmp_path, TFGL_CACHE_MAX_MB="1")
    folder = tmp_path / "cache" / "programs"
    folder.mkdir(parents=True)
    old = {name: folder / f"{name * 64}.bin" for name in "abc"}   # 3 x 350 KiB > 1 MiB, a oldest
    for age, path in enumerate(old.values()):
        path.write_bytes(b"x" * 350 * 1024)
        os.utime(path, (1000 + age, 1000 + age))
    report = predict(env, tmp_path / "out.npy")
    assert not old["a"].exists() and old["b"].exists() and old["c"].exists()
    written = entries(tmp_path / "cache")
    assert len(written) == 2 + report["compiled"]
    assert sum(len(data) for data in written.values()) <= 2**20


def test_evict_goes_by_mtime_and_stops_at_the_target(tmp_path):
    for age, name in enumerate("abcd"):
        path = tmp_path / f"{name}.bin"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + age, 1000 + age))
    (tmp_path / ".x.tmp").write_bytes(b"y" * 1000)  # a write in progress: neither counted nor deleted
    assert program_cache.evict(tmp_path, 250) == 200
    assert sorted(path.name for path in tmp_path.iterdir()) == [".x.tmp", "c.bin", "d.bin"]


def test_entries_refuse_every_damage_before_the_driver_sees_them():
    driver = program_cache.Driver("Mesa", "llvmpipe", "4.5 (Core Profile) Mesa 22.3.6")
    key = program_cache.key(driver, "vertex", "fragment")
    data = program_cache.encode(key, driver, 0x8D64, b"binary" * 100)
    assert program_cache.decode(data, key, driver) == (0x8D64, b"binary" * 100)
    other = program_cache.Driver("Mesa", "llvmpipe", "4.5 (Core Profile) Mesa 23.0")
    assert program_cache.key(other, "vertex", "fragment") != key
    assert program_cache.decode(data, key, other) is None
    assert program_cache.decode(data, program_cache.key(driver, "vertex", "other"), driver) is None
    for bad in (data[:-1], data + b"\0", _corrupt(data), b"", data[:10], b"TFGLPRG\0" + data[8:20]):
        assert program_cache.decode(bad, key, driver) is None


def test_write_failures_warn_once_and_stop(tmp_path):
    (tmp_path / "blocker").write_text("not a folder")
    cache = program_cache.ProgramCache(tmp_path / "blocker" / "programs", 2**20)
    driver = program_cache.Driver("v", "r", "1")
    with pytest.warns(RuntimeWarning, match="program cache folder") as caught:
        cache.write(b"k" * 32, driver, 1, b"data")
        cache.write(b"l" * 32, driver, 1, b"data")
        assert cache.read(b"k" * 32, driver) is None
    assert len(caught) == 1


@pytest.mark.parametrize("blocked", ["root", "programs"])
def test_unusable_folder_warns_once_and_predicts_right(tmp_path, webgl, blocked):
    (tmp_path / "blocker").write_text("not a folder")
    env = fresh_environment(tmp_path)
    if blocked == "root":
        env["TFGL_CACHE"] = str(tmp_path / "blocker" / "cache")
    else:
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache" / "programs").write_text("not a folder")
    report = predict(env, tmp_path / "out.npy")
    assert len(report["warnings"]) == 1 and report["warnings"][0].startswith("RuntimeWarning"), report["warnings"]
    assert "not usable" in report["warnings"][0]
    assert report["compiled"] > 0 and report["loaded"] == 0


@pytest.mark.parametrize("variable", ["TFGL_PROGRAM_CACHE", "TFGL_PROGRAM_BINARIES"])
def test_switched_off_writes_no_binaries(tmp_path, webgl, variable):
    env = fresh_environment(tmp_path, **{variable: "0"})
    for name in ("one.npy", "two.npy"):
        report = predict(env, tmp_path / name)
        assert report["compiled"] > 0 and report["loaded"] == 0 and not report["warnings"]
    assert not entries(tmp_path / "cache")


def test_cli_info_reports_programs_and_clear_empties_them(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    (root / "programs").mkdir(parents=True)
    for name in "ab":
        (root / "programs" / f"{name}.bin").write_bytes(b"p" * 40)
    (root / "shaders" / "mesa").mkdir(parents=True)
    (root / "shaders" / "mesa" / "blob").write_bytes(b"s" * 10)
    monkeypatch.setenv("TFGL_CACHE", str(root))
    assert main(["cache", "info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["programs_path"] == str(root / "programs") and report["binaries"]
    assert report["programs"] == {"bytes": 80, "entries": 2}
    assert report["total"] == {"bytes": 90, "entries": 3}
    assert main(["cache", "info"]) == 0
    assert str(root / "programs") in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert "3 files" in capsys.readouterr().out
    assert (root / "programs").is_dir() and not any((root / "programs").iterdir())
