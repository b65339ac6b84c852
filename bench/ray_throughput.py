"""Batch inference throughput on a local Ray cluster against the number of workers.

    python bench/ray_throughput.py [--workers 1,2] [--backends webgl,cpu] [--rows 24576] [--batch-size 32]

Runs `engine.ray.predict_batches` (what `tfgl batch` runs) on the shipped example model and, where it
is cached, MobileNetV2 1.0 224 (~/.cache/tfgl/bench, what bench/peers.py fetches), on random inputs.
Per configuration, in inputs/s: end to end (actors started, models loaded, every row back in order);
steady, from the workers' own clocks: the rows of the batches that started once every worker had
finished its first, over the time from then to the last batch's end; and one process calling
predict on the same batches, without Ray, for reference.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import engine  # noqa: E402
from engine.cli import EXAMPLE_MODEL  # noqa: E402
from engine.ray import Predictor, predict_batches  # noqa: E402

MOBILENET = os.path.expanduser("~/.cache/tfgl/bench/mobilenet_v2_1.0_224/web_model/model.json")
CLOCK = ("_worker", "_start", "_end")


class TimedPredictor(Predictor):
    """Adds, per row, the worker and when its batch started and ended."""

    def __call__(self, batch):
        start = time.time()
        outputs = super().__call__(batch)
        rows = len(next(iter(outputs.values())))
        return dict(outputs, _worker=np.full(rows, os.getpid()), _start=np.full(rows, start),
                    _end=np.full(rows, time.time()))


def throughput(model: str, inputs: dict[str, np.ndarray], workers: int, batch_size: int,
               backend: str) -> tuple[float, float, int]:
    """(inputs/s end to end, steady inputs/s, workers that ran batches)."""
    rows = len(next(iter(inputs.values())))
    start = time.perf_counter()
    batches = [{name: batch[name][0] for name in CLOCK} | {"rows": len(batch["_worker"])}
               for batch in predict_batches(model, [inputs], workers=workers, batch_size=batch_size,
                                            backend=backend, progress=False, predictor=TimedPredictor)]
    end_to_end = rows / (time.perf_counter() - start)
    first_ends = {}
    for batch in sorted(batches, key=lambda b: b["_start"]):
        first_ends.setdefault(batch["_worker"], batch["_end"])
    warm = max(first_ends.values())
    steady = [b for b in batches if b["_start"] >= warm]
    last = max(b["_end"] for b in steady)
    return end_to_end, sum(b["rows"] for b in steady) / (last - warm), len(first_ends)


def single_process(model: str, inputs: dict[str, np.ndarray], batch_size: int, backend: str) -> float:
    loaded = engine.load_model(model, backend=backend)
    rows = len(next(iter(inputs.values())))
    loaded.predict({name: values[:batch_size] for name, values in inputs.items()})  # compiles before the clock
    start = time.perf_counter()
    for offset in range(0, rows, batch_size):
        loaded.predict({name: values[offset:offset + batch_size] for name, values in inputs.items()})
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="comma separated worker counts")
    parser.add_argument("--backends", default="webgl,cpu")
    parser.add_argument("--rows", type=int, default=24576, help="inputs per run (MobileNetV2: 1/96 of them)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    import ray
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False)
    models = {"example small_cnn 24x24": (EXAMPLE_MODEL, args.rows)}
    if os.path.exists(MOBILENET):
        models["MobileNetV2 1.0 224"] = (MOBILENET, max(4 * args.batch_size, args.rows // 96))
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Ray {ray.__version__}, batch size {args.batch_size}")
    print(f"{'model':26s} {'backend':8s} {'rows':>5s} {'workers':>7s} {'end to end /s':>13s} {'steady /s':>9s} "
          f"{'one process /s':>14s}")
    rng = np.random.default_rng(0)
    for name, (path, rows) in models.items():
        signature = engine.load_model(path, backend="cpu").inputs
        inputs = {info.name: rng.standard_normal((rows, *info.shape[1:])).astype(np.float32) for info in signature}
        for backend in args.backends.split(","):
            alone = single_process(path, inputs, args.batch_size, backend)
            for workers in (int(w) for w in args.workers.split(",")):
                overall, steady, busy = throughput(path, inputs, workers, args.batch_size, backend)
                note = "" if busy == workers else f"  (only {busy} worker(s) ran batches)"
                print(f"{name:26s} {backend:8s} {rows:5d} {workers:7d} {overall:13.1f} {steady:9.1f} {alone:14.1f}"
                      f"{note}", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
