"""Latency of a model per backend: the first call (program compiles, weight uploads) against the
steady state, with the WebGL backend's compile counters and host cost per draw, and per-op timings.
Used by `tfgl bench` and bench/."""
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
    draws_per_call: float = 0.0      # WebGL programs drawn per steady call
    host_us_per_op: float = 0.0      # calling thread's CPU time per draw, steady median (Python + driver)
    replayed: bool = False           # steady calls replayed a recorded plan
    executor_host_us_per_op: float = 0.0  # the same through the executor (replays paused): per-op Python

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "calls_ms"}


def example_inputs(model: Model, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic random inputs of the signature's shapes (unknown dimensions = 1)."""
    rng = np.random.default_rng(seed)
    return {info.name: random_array(rng, tuple(1 if d is None else d for d in (info.shape or ())), info.dtype)
            for info in model.inputs}


def _gl_counters(model: Model) -> tuple[int, float, int, int]:
    stats = getattr(model.backend, "stats", None)
    if stats is None:
        return 0, 0.0, 0, 0
    return stats.programs_compiled, stats.compile_ms, model.backend.texture_bytes(), stats.draws


def benchmark(model: Model, runs: int = 20, inputs: dict | None = None) -> BenchResult:
    """One first call, then `runs` steady calls; outputs are read back every call, as users do."""
    inputs = inputs if inputs is not None else example_inputs(model)
    compiled_before, compile_ms_before, _, _ = _gl_counters(model)
    start = time.perf_counter()
    model.predict(inputs)
    first_ms = (time.perf_counter() - start) * 1e3
    compiled_first, compile_ms, _, draws_before = _gl_counters(model)
    calls, host = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.thread_time()
        model.predict(inputs)
        calls.append((time.perf_counter() - start) * 1e3)
        host.append(time.thread_time() - cpu_start)
    compiled_steady, _, texture_bytes, draws_after = _gl_counters(model)
    draws = (draws_after - draws_before) / runs if runs else 0.0
    replays = getattr(model, "replays", None)
    replayed = replays is not None and replays.last is not None
    executor_host = _executor_host_seconds(model, inputs, min(runs, 5)) if replayed else host
    return BenchResult(
        first_ms=first_ms,
        steady_median_ms=float(np.median(calls)) if calls else float("nan"),
        steady_p90_ms=float(np.percentile(calls, 90)) if calls else float("nan"),
        programs_compiled_first=compiled_first - compiled_before,
        programs_compiled_steady=compiled_steady - compiled_first,
        compile_ms=compile_ms - compile_ms_before,
        texture_bytes=texture_bytes,
        calls_ms=[first_ms] + calls,
        draws_per_call=draws,
        host_us_per_op=float(np.median(host)) * 1e6 / draws if draws and host else 0.0,
        replayed=replayed,
        executor_host_us_per_op=float(np.median(executor_host)) * 1e6 / draws if draws and executor_host else 0.0)


def _executor_host_seconds(model: Model, inputs: dict, runs: int) -> list[float]:
    """The calling thread's CPU time per call with replays paused (every op dispatched from Python)."""
    model.replays.paused = True
    try:
        host = []
        for _ in range(runs):
            start = time.thread_time()
            model.predict(inputs)
            host.append(time.thread_time() - start)
        return host
    finally:
        model.replays.paused = False


def profile_ops(model: Model, inputs: dict | None = None, runs: int = 3) -> dict[str, tuple[float, float]]:
    """op -> (calls, ms) per call, averaged over `runs` calls after a warm-up, each op waited for
    (so GPU time lands on the op that queued it). Replays are off while profiling."""
    inputs = inputs if inputs is not None else example_inputs(model)
    model.predict(inputs)
    backend = model.backend
    backend.profile = {}
    try:
        for _ in range(runs):
            model.predict(inputs)
        totals = backend.profile
    finally:
        backend.profile = None
    return {op: (calls / runs, ms / runs) for op, (calls, ms) in
            sorted(totals.items(), key=lambda item: -item[1][1])}


def format_table(results: dict[str, BenchResult]) -> str:
    header = (f"{'backend':8s} {'first ms':>10s} {'median ms':>10s} {'p90 ms':>9s} {'compiled':>9s} "
              f"{'steady comp':>11s} {'compile ms':>10s} {'texture MiB':>11s} {'draws':>6s} {'host us/op':>10s} "
              f"{'unreplayed':>10s}")
    lines = [header, "-" * len(header)]
    for name, r in results.items():
        lines.append(f"{name:8s} {r.first_ms:10.2f} {r.steady_median_ms:10.2f} {r.steady_p90_ms:9.2f} "
                     f"{r.programs_compiled_first:9d} {r.programs_compiled_steady:11d} {r.compile_ms:10.1f} "
                     f"{r.texture_bytes / 2**20:11.2f} {r.draws_per_call:6.0f} {r.host_us_per_op:10.1f} "
                     f"{r.executor_host_us_per_op:10.1f}")
    return "\n".join(lines)


def format_profile(profile: dict[str, tuple[float, float]], top: int = 15) -> str:
    total = sum(ms for _, ms in profile.values()) or 1.0
    lines = [f"{'op':32s} {'calls':>6s} {'ms':>9s} {'share':>6s}"]
    for op, (calls, ms) in list(profile.items())[:top]:
        lines.append(f"{op:32s} {calls:6.0f} {ms:9.2f} {ms / total:6.1%}")
    return "\n".join(lines)
