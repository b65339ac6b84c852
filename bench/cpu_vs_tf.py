"""tfgl's CPU backend against TensorFlow, side by side: interleaved rounds of fresh processes.

    python bench/cpu_vs_tf.py [--rounds 5] [--runs 20] [--models mobilenet_v2,mobilenet_v2_official,...]
                              [--before /path/to/another/tfgl/tree] [--markdown out.md] [--json out.json]

The machine this runs on is usually shared and noisy, so a single pass of bench/peers.py can put one
backend in a quiet minute and the other in a busy one. Here every round runs each backend once per
model, in a fresh process (bench/peers.py's workers: same inputs, same SavedModels), in a shuffled
order; a round's value is its steady median over --runs calls, and the reported ratio is the median
over rounds of the paired ratio tfgl / TensorFlow within a round. A second table does the same with
the process's CPU time per call (all threads; tfgl's from as many calls again after the timed
ones), which a busy machine inflates far less than wall time.

Models: bench/peers.py's (MobileNetV2 1.0 224 converted by tfgl, handtrack, MoveNet, selfie) and
`mobilenet_v2_official`: tf.keras's MobileNetV2 1.0 224 (weights=None, seed 0) converted by the
official converter (pip tensorflowjs, which needs a virtual environment of its own: --tfjs-venv, see
tests/fixtures/README.md); TensorFlow runs the SavedModel that converter read.

--before runs a second tfgl tree's CPU backend (its bench/peers.py worker) in the same rounds, as
a "before" column.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

OFFICIAL = "mobilenet_v2_official"
DEFAULT_MODELS = [peers.MOBILENET, OFFICIAL, *peers.REAL_MODELS]
_BUILD_OFFICIAL = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf
import tf_keras
tf_keras.utils.set_random_seed(0)
model = tf_keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
tf.saved_model.save(model, sys.argv[1])
"""


def official_mobilenet(venv: Path) -> tuple[Path, Path]:
    """tf.keras MobileNetV2 1.0 224 as a SavedModel and as the official converter's graph model, cached."""
    target = peers.cache_dir() / "mobilenet_v2_1.0_224_official"
    if not (target / "web_model" / "model.json").is_file():
        python, converter = venv / "bin" / "python", venv / "bin" / "tensorflowjs_converter"
        if not converter.is_file():
            raise RuntimeError(f"no official converter at {converter} (--tfjs-venv; see tests/fixtures/README.md)")
        scratch = Path(tempfile.mkdtemp(dir=peers.cache_dir()))
        try:
            subprocess.run([str(python), "-c", _BUILD_OFFICIAL, str(scratch / "saved_model")], check=True,
                           capture_output=True, timeout=peers.TIMEOUT_S)
            subprocess.run([str(converter), str(scratch / "saved_model"), str(scratch / "web_model"),
                            "--input_format=tf_saved_model"], check=True, capture_output=True, timeout=peers.TIMEOUT_S)
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target / "saved_model", target / "web_model" / "model.json"


def prepare(key: str, scratch: Path, venv: Path) -> peers.Model:
    if key != OFFICIAL:
        return peers.prepare(key, scratch, want_tf=True)
    try:
        saved_model, model_json = official_mobilenet(venv)
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return peers.Model(key, key, error=str(error))
    model = peers.prepare(str(model_json), scratch, want_tf=False)
    model.key, model.title, model.saved_model = key, "MobileNetV2 1.0 224 (tf.keras, official converter)", saved_model
    return model


def measure(command: list[str], job: dict, scratch: Path, timeout: float) -> dict:
    """One fresh worker process: {"median": steady median ms, "calls": [...]} or {"error": ...}."""
    job_file = scratch / "job.json"
    job_file.write_text(json.dumps(job))
    try:
        result = subprocess.run([*command, str(job_file)], capture_output=True, text=True, cwd=scratch,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        return {"error": peers.last_line(result.stderr or result.stdout)}
    result = json.loads(lines[-1])
    calls = result["calls_ms"]
    out = {"median": float(np.median(calls[1:])), "calls": calls}
    if result.get("cpu_ms"):
        out["cpu_median"] = float(np.median(result["cpu_ms"]))
    return out


def jobs(model: peers.Model, runs: int, before: Path | None) -> dict[str, tuple[list[str], dict]]:
    base = {"model": str(model.path), "format": model.format, "runs": runs, "inputs": model.inputs}
    out = {"tensorflow": ([sys.executable, peers.__file__, "--worker"],
                          {**base, "kind": "tensorflow", "saved_model": str(model.saved_model)}),
           "tfgl cpu": ([sys.executable, peers.__file__, "--worker"],
                        {**base, "kind": "tfgl", "backend": "cpu", "cpu_time": True})}
    if before is not None:
        out["tfgl cpu before"] = ([sys.executable, str(before / "bench" / "peers.py"), "--worker"],
                                  {**base, "kind": "tfgl", "backend": "cpu", "cpu_time": True})
    return out


def summarize(rounds: list[dict[str, dict]]) -> dict:
    """Per backend the median over rounds of the steady medians; per tfgl row the median paired ratio."""
    names = list(rounds[0])
    medians = {name: [r[name]["median"] for r in rounds if "median" in r[name]] for name in names}
    out = {name: float(np.median(values)) if values else None for name, values in medians.items()}
    for name in names:
        if name != "tensorflow":
            for key, label in (("median", ""), ("cpu_median", " cpu time")):
                paired = [r[name][key] / r["tensorflow"][key] for r in rounds
                          if key in r[name] and key in r["tensorflow"]]
                out[f"{name} / tensorflow{label}"] = float(np.median(paired)) if paired else None
        cpu = [r[name]["cpu_median"] for r in rounds if "cpu_median" in r[name]]
        out[f"{name} cpu time"] = float(np.median(cpu)) if cpu else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20, help="steady calls per process (default 20)")
    parser.add_argument("--models", help=f"comma separated: {', '.join(DEFAULT_MODELS)}")
    parser.add_argument("--before", type=Path, help="another tfgl tree, measured as 'tfgl cpu before'")
    parser.add_argument("--tfjs-venv", type=Path, default=Path(os.environ.get("TFJS_VENV", "/tmp/tfjs-venv")),
                        help="virtual environment with the official converter (default $TFJS_VENV or /tmp/tfjs-venv)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per process")
    parser.add_argument("--json", help="every round's numbers")
    parser.add_argument("--markdown", help="the table as Markdown")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keys = [k.strip() for k in args.models.split(",")] if args.models else DEFAULT_MODELS
    shuffle = random.Random(0)
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "rounds": args.rounds, "runs": args.runs, "models": {}}
    with tempfile.TemporaryDirectory(prefix="tfgl-cpu-vs-tf-") as scratch_name:
        scratch = Path(scratch_name)
        models = {key: prepare(key, scratch, args.tfjs_venv) for key in keys}
        for key, model in models.items():
            report["models"][key] = {"title": model.title, "rounds": [], "error": model.error or model.tf_reason}
        for round_index in range(args.rounds):
            for key, model in models.items():
                if model.error or model.saved_model is None:
                    continue
                todo = list(jobs(model, args.runs, args.before).items())
                shuffle.shuffle(todo)
                results = {name: measure(command, job, scratch, args.timeout) for name, (command, job) in todo}
                report["models"][key]["rounds"].append({name: results[name] for name in sorted(results)})
                line = ", ".join(f"{name} {r['median']:.1f}" if "median" in r else f"{name} n/a: {r['error']}"
                                 for name, r in sorted(results.items()))
                print(f"round {round_index + 1}/{args.rounds} {key}: {line}", flush=True)
    header = ["model", "TensorFlow ms", "tfgl cpu ms", "tfgl cpu / TF"]
    if args.before:
        header[2:2] = ["tfgl cpu before ms", "before / TF"]
    table, cpu_table = [], []
    for entry in report["models"].values():
        if not entry["rounds"]:
            table.append([entry["title"], f"n/a: {entry['error']}"] + [""] * (len(header) - 2))
            continue
        entry["summary"] = s = summarize(entry["rounds"])
        cells = [entry["title"], _ms(s["tensorflow"])]
        if args.before:
            cells += [_ms(s["tfgl cpu before"]), _x(s["tfgl cpu before / tensorflow"])]
        table.append(cells + [_ms(s["tfgl cpu"]), _x(s["tfgl cpu / tensorflow"])])
        cells = [entry["title"], _ms(s["tensorflow cpu time"])]
        if args.before:
            cells += [_ms(s["tfgl cpu before cpu time"]), _x(s["tfgl cpu before / tensorflow cpu time"])]
        cpu_table.append(cells + [_ms(s["tfgl cpu cpu time"]), _x(s["tfgl cpu / tensorflow cpu time"])])
    markdown = peers.markdown_table(header, table)
    if cpu_table:  # what a loaded machine changes least: the work each call does, on all its threads
        markdown += "\n\nCPU time per steady call (all threads of the process):\n\n" + peers.markdown_table(
            [name.replace(" ms", " CPU ms") for name in header], cpu_table)
    print(markdown)
    if args.markdown:
        Path(args.markdown).write_text(markdown + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
