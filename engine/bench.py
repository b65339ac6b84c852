"""Latency of a model per backend: the first call (program compiles, weight uploads) against the
steady state, with the WebGL backend's compile counters. Used by `tfgl bench` and bench/."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from engine.graph.model import GraphModel, random_array
from engine.layers.model import LayersModel

Model = GraphModel | LayersModel


@dataclass
class BenchResult:
    first_ms: float
    steady_median_ms: float
    steady_p90_ms: float
    programs_compiled_first: int
    programs_compiled_steady: int
    compile_ms: float
    texture_bytes: int
    calls_ms: list[float]

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "calls_ms"}


def example_inputs(model: Model, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic random inputs of the signature's shapes (unknown dimensions = 1)."""
    rng = np.random.default_rng(seed)
    return {info.name: random_array(rng, tuple(1 if d is None else d for d in (info.shape or ())), info.dtype)
            for info in model.inputs}


def _gl_counters(model: Model) -> tuple[int, float, int]:
    stats = getattr(model.backend, "stats", None)
    if stats is None:
        return 0, 0.0, 0
    return stats.programs_compiled, stats.compile_ms, model.backend.texture_bytes()


def benchmark(model: Model, runs: int = 20, inputs: dict | None = None) -> BenchResult:
    """One first call, then `runs` steady calls; outputs are read back every call, as users do."""
    inputs = inputs if inputs is not None else example_inputs(model)
    compiled_before, compile_ms_before, _ = _gl_counters(model)
    start = time.perf_counter()
    model.predict(inputs)
    first_ms = (time.perf_counter() - start) * 1e3
    compiled_first, compile_ms, _ = _gl_counters(model)
    calls = []
    for _ in range(runs):
        start = time.perf_counter()
        model.predict(inputs)
        calls.append((time.perf_counter() - start) * 1e3)
    compiled_steady, _, texture_bytes = _gl_counters(model)
    return BenchResult(
        first_ms=first_ms,
        steady_median_ms=float(np.median(calls)) if calls else float("nan"),
        steady_p90_ms=float(np.percentile(calls, 90)) if calls else float("nan"),
        programs_compiled_first=compiled_first - compiled_before,
        programs_compiled_steady=compiled_steady - compiled_first,
        compile_ms=compile_ms - compile_ms_before,
        texture_bytes=texture_bytes,
        calls_ms=[first_ms] + calls)


def format_table(results: dict[str, BenchResult]) -> str:
    header = (f"{'backend':8s} {'first ms':>10s} {'median ms':>10s} {'p90 ms':>9s} {'compiled':>9s} "
              f"{'steady comp':>11s} {'compile ms':>10s} {'texture MiB':>11s}")
    lines = [header, "-" * len(header)]
    for name, r in results.items():
        lines.append(f"{name:8s} {r.first_ms:10.2f} {r.steady_median_ms:10.2f} {r.steady_p90_ms:9.2f} "
                     f"{r.programs_compiled_first:9d} {r.programs_compiled_steady:11d} {r.compile_ms:10.1f} "
                     f"{r.texture_bytes / 2**20:11.2f}")
    return "\n".join(lines)
