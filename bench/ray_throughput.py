"""Batch inference throughput on a local Ray cluster against the number of workers.

    python bench/ray_throughput.py [--workers 1,2] [--backends webgl,cpu] [--rows 24576] [--batch-size 32]

Runs `engine.ray.predict_batches` (what `tfgl batch` runs) on the shipped example model and, where it
is cached, MobileNetV2 1.0 224 (~/.cache/tfgl/bench, what bench/peers.py fetches), on random inputs.
Per configuration: inputs/s end to end (actors started, models loaded, every row back in order), at
the margin (from a run on a third of the rows and one on all of them, so without start-up and first
calls), and one process calling predict on the same batches, without Ray, for reference.
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


def seconds(model: str, inputs: dict[str, np.ndarray], workers: int, batch_size: int, backend: str) -> float:
    """One run, end to end: actors started, models loaded, every row back in order."""
    start = time.perf_counter()
    for _ in predict_batches(model, [inputs], workers=workers, batch_size=batch_size, backend=backend,
                             progress=False):
        pass
    return time.perf_counter() - start


def throughput(model: str, inputs: dict[str, np.ndarray], workers: int, batch_size: int,
               backend: str) -> tuple[float, float]:
    """(inputs/s end to end, inputs/s at the margin): a run on a third of the rows, then one on all of
    them; the margin, (rows - third) / (time - its time), leaves out start-up and first calls."""
    rows = len(next(iter(inputs.values())))
    third = {name: values[:rows // 3] for name, values in inputs.items()}
    short = seconds(model, third, workers, batch_size, backend)
    full = seconds(model, inputs, workers, batch_size, backend)
    return rows / full, (rows - rows // 3) / (full - short)


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
    parser.add_argument("--rows", type=int, default=24576, help="inputs per run (MobileNetV2: 1/128 of them)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    import ray
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False)
    models = {"example small_cnn 24x24": (EXAMPLE_MODEL, args.rows)}
    if os.path.exists(MOBILENET):
        models["MobileNetV2 1.0 224"] = (MOBILENET, max(3 * args.batch_size, args.rows // 128))
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, Ray {ray.__version__}, batch size {args.batch_size}")
    print(f"{'model':26s} {'backend':8s} {'rows':>5s} {'workers':>7s} {'end to end /s':>13s} "
          f"{'at the margin /s':>16s} {'one process /s':>14s}")
    rng = np.random.default_rng(0)
    for name, (path, rows) in models.items():
        signature = engine.load_model(path, backend="cpu").inputs
        inputs = {info.name: rng.standard_normal((rows, *info.shape[1:])).astype(np.float32) for info in signature}
        for backend in args.backends.split(","):
            alone = single_process(path, inputs, args.batch_size, backend)
            for workers in (int(w) for w in args.workers.split(",")):
                overall, margin = throughput(path, inputs, workers, args.batch_size, backend)
                print(f"{name:26s} {backend:8s} {rows:5d} {workers:7d} {overall:13.1f} {margin:16.1f} {alone:14.1f}",
                      flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
