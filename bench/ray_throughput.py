"""Batch inference throughput on a local Ray cluster against the number of workers.

    python bench/ray_throughput.py [--workers 1,2] [--backends webgl,cpu] [--rows 256] [--batch-size 32]

Runs `engine.ray.predict_batches` (what `tfgl batch` runs) on the shipped example model and, where it
is cached, MobileNetV2 1.0 224 (~/.cache/tfgl/bench, what bench/peers.py fetches), on random inputs.
Per configuration: end to end (actors started, models loaded, every row back in order), after the
first batch (the rows after the first output batch over the time since it, so without start-up),
and one process calling predict on the same batches, without Ray, for reference.
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
from engine.ray import predict_batches  # noqa: E402

MOBILENET = os.path.expanduser("~/.cache/tfgl/bench/mobilenet_v2_1.0_224/web_model/model.json")


def throughput(model: str, inputs: dict[str, np.ndarray], workers: int, batch_size: int,
               backend: str) -> tuple[float, float]:
    """(inputs/s end to end, inputs/s after the first output batch)."""
    rows = len(next(iter(inputs.values())))
    start = time.perf_counter()
    first_rows, first_at = 0, 0.0
    for batch in predict_batches(model, [inputs], workers=workers, batch_size=batch_size,
                                 backend=backend, progress=False):
        if not first_at:
            first_rows, first_at = len(next(iter(batch.values()))), time.perf_counter()
    end = time.perf_counter()
    return rows / (end - start), (rows - first_rows) / (end - first_at)


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
    parser.add_argument("--rows", type=int, default=256, help="inputs per run (MobileNetV2: a quarter)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    import ray
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False)
    models = {"example small_cnn 24x24": (EXAMPLE_MODEL, args.rows)}
    if os.path.exists(MOBILENET):
        models["MobileNetV2 1.0 224"] = (MOBILENET, max(args.batch_size, args.rows // 4))
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Ray {ray.__version__}, batch size {args.batch_size}")
    print(f"{'model':26s} {'backend':8s} {'rows':>5s} {'workers':>7s} {'end to end /s':>13s} "
          f"{'after 1st batch /s':>18s} {'one process /s':>14s}")
    rng = np.random.default_rng(0)
    for name, (path, rows) in models.items():
        signature = engine.load_model(path, backend="cpu").inputs
        inputs = {info.name: rng.standard_normal((rows, *info.shape[1:])).astype(np.float32) for info in signature}
        for backend in args.backends.split(","):
            alone = single_process(path, inputs, args.batch_size, backend)
            for workers in (int(w) for w in args.workers.split(",")):
                overall, steady = throughput(path, inputs, workers, args.batch_size, backend)
                print(f"{name:26s} {backend:8s} {rows:5d} {workers:7d} {overall:13.1f} {steady:18.1f} {alone:14.1f}",
                      flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
