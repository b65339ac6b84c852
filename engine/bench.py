"""Latency of a model per backend: the first call (program compiles, weight uploads) against the
steady state, with the WebGL backend's compile counters and host cost per draw, and per-op timings.
Used by `tfgl bench` and bench/.

A first call in a process that already compiled anything is not what a user's first call costs, so
`fresh_first_calls` measures it in new processes (`python -m engine.bench`): cold (empty program and
driver caches: a private TFGL_CACHE) and then warm (the caches the cold one filled).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

import engine
from engine.errors import TfglError
from engine.graph.model import GraphModel, random_array
from engine.graph.replay import replay_enabled
from engine.layers.model import LayersModel
from engine.webgl import shader_cache

Model = GraphModel | LayersModel


@dataclass
class BenchResult:
    first_ms: float
    steady_median_ms: float
    steady_p90_ms: float
    programs_compiled_first: int     # from GLSL source
    programs_compiled_steady: int
    compile_ms: float
    texture_bytes: int
    calls_ms: list[float]
    draws_per_call: float = 0.0      # WebGL programs drawn per steady call
    host_us_per_op: float = 0.0      # calling thread's CPU time per draw, steady median (Python + driver)
    replayed: bool = False           # steady calls replayed a recorded plan
    replay_void_reason: str | None = None  # why not, when they did not
    executor_host_us_per_op: float = 0.0  # the same through the executor (replays paused): per-op Python
    warmup_ms: float | None = None   # model.warmup() before the first call (then `first_ms` follows it)
    programs_compiled_warmup: int = 0
    programs_loaded_first: int = 0   # from the program binaries on disk (first call and warmup together)
    cold_first_ms: float | None = None   # a fresh process's first call, empty caches (fresh_first_calls)
    warm_first_ms: float | None = None   # a fresh process's first call, caches the cold one filled
    cold_warmup_ms: float | None = None  # their warmup() times, when warming up
    warm_warmup_ms: float | None = None
    cold_programs: dict | None = None    # {"compiled": n, "loaded": n}: where each fresh process got its programs
    warm_programs: dict | None = None
    textures_evicted_steady: int = 0  # textures the steady calls made again past the pool's limit (WebGL)
    programs_evicted_steady: int = 0  # programs the steady calls deleted past TFGL_LINKED_PROGRAMS (WebGL)
    slowest_programs: list = field(default_factory=list)  # the cold process's ten slowest: [name, shapes, ms]
    program_compile_ms: list[float] = field(default_factory=list)  # the cold process's, in compile order

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("calls_ms", "program_compile_ms")}


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


def _evicted(model: Model) -> tuple[int, int]:
    """(textures, programs) the WebGL backend deleted past its limits so far."""
    stats = getattr(model.backend, "stats", None)
    return getattr(stats, "textures_evicted", 0), getattr(stats, "programs_evicted", 0)


def _programs_loaded(model: Model) -> int:
    return getattr(getattr(model.backend, "stats", None), "programs_loaded", 0)


def benchmark(model: Model, runs: int = 20, inputs: dict | None = None, warmup: bool = False) -> BenchResult:
    """One first call (after model.warmup() if `warmup`), then `runs` steady calls; outputs are read
    back every call, as users do."""
    inputs = inputs if inputs is not None else example_inputs(model)
    warmup_ms, compiled_warmup, loaded_before = None, 0, _programs_loaded(model)
    if warmup:
        compiled_before, *_ = _gl_counters(model)
        start = time.perf_counter()
        model.warmup(inputs)
        warmup_ms = (time.perf_counter() - start) * 1e3
        compiled_warmup = _gl_counters(model)[0] - compiled_before
    compiled_before, compile_ms_before, _, _ = _gl_counters(model)
    start = time.perf_counter()
    model.predict(inputs)
    first_ms = (time.perf_counter() - start) * 1e3
    compiled_first, compile_ms, _, draws_before = _gl_counters(model)
    replays = getattr(model, "replays", None)
    if replays is not None:
        replays.last = None  # set again by the steady calls that replay
    evicted_before = _evicted(model)
    calls, host = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.thread_time()
        model.predict(inputs)
        calls.append((time.perf_counter() - start) * 1e3)
        host.append(time.thread_time() - cpu_start)
    compiled_steady, _, texture_bytes, draws_after = _gl_counters(model)
    textures_evicted, programs_evicted = (after - before for after, before in zip(_evicted(model), evicted_before))
    draws = (draws_after - draws_before) / runs if runs else 0.0
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
        textures_evicted_steady=textures_evicted,
        programs_evicted_steady=programs_evicted,
        calls_ms=[first_ms] + calls,
        draws_per_call=draws,
        host_us_per_op=float(np.median(host)) * 1e6 / draws if draws and host else 0.0,
        replayed=replayed,
        replay_void_reason=None if replayed else _why_not_replayed(model),
        executor_host_us_per_op=float(np.median(executor_host)) * 1e6 / draws if draws and executor_host else 0.0,
        warmup_ms=warmup_ms,
        programs_compiled_warmup=compiled_warmup,
        programs_loaded_first=_programs_loaded(model) - loaded_before)


def fresh_first_calls(location: str, backend: str, warmup: bool = False, cache: bool = True) -> dict:
    """A first call (after warmup() if `warmup`) in two new processes: cold, with empty program and
    driver caches, then warm, with what the cold one left (both cold when `cache` is off). Fields for
    BenchResult."""
    with tempfile.TemporaryDirectory(prefix="tfgl-bench-") as private:
        env = dict(os.environ)
        if cache:
            shader_cache.use_private_folder(private, env)
        else:
            shader_cache.switch_off(env)
        # The children import this very engine, wherever the interpreter's path would find another.
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        cold, warm = (_first_call_in_new_process(location, backend, warmup, env) for _ in range(2))
    slowest = sorted(cold["program_compiles"], key=lambda entry: -entry[2])[:10]
    return {"cold_first_ms": cold["first_ms"], "warm_first_ms": warm["first_ms"],
            "cold_warmup_ms": cold["warmup_ms"], "warm_warmup_ms": warm["warmup_ms"],
            "cold_programs": cold["programs"], "warm_programs": warm["programs"],
            "slowest_programs": [[name, shapes, round(ms, 2)] for name, shapes, ms in slowest],
            "program_compile_ms": [ms for _, _, ms in cold["program_compiles"]]}


def _first_call_in_new_process(location: str, backend: str, warmup: bool, env: dict) -> dict:
    command = [sys.executable, "-m", "engine.bench", location, "--backend", backend] + (["--warmup"] if warmup else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TfglError(f"the fresh-process first call on {backend} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _first_call_main(argv: Sequence[str] | None = None) -> None:
    """What fresh_first_calls runs in each new process; prints one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m engine.bench")
    parser.add_argument("model")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--warmup", action="store_true")
    args = parser.parse_args(argv)
    model = engine.load_model(args.model, backend=args.backend)
    inputs = example_inputs(model)
    warmup_ms = None
    start = time.perf_counter()
    if args.warmup:
        model.warmup(inputs)
        warmup_ms = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
    model.predict(inputs)
    first_ms = (time.perf_counter() - start) * 1e3
    stats = getattr(model.backend, "stats", None)
    print(json.dumps({"first_ms": first_ms, "warmup_ms": warmup_ms,
                      "program_compiles": stats.program_compiles if stats is not None else [],
                      "programs": {"compiled": getattr(stats, "programs_compiled", 0),
                                   "loaded": getattr(stats, "programs_loaded", 0)}}))


def _why_not_replayed(model: Model) -> str:
    replays = getattr(model, "replays", None)
    if getattr(model.backend, "record", None) is None:
        return f"the {model.backend.name} backend does not record plans"
    if not replay_enabled():
        return "replays are off (TFGL_REPLAY=0)"
    return (replays.void_reason if replays is not None else None) or "no plan was recorded"


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


def _ms(value: float | None, width: int) -> str:
    return f"{'-':>{width}s}" if value is None else f"{value:{width}.1f}"


def format_table(results: dict[str, BenchResult]) -> str:
    warmed = any(r.warmup_ms is not None for r in results.values())
    header = (f"{'backend':8s} {'cold 1st':>9s} {'warm 1st':>9s} "
              + (f"{'cold wu':>8s} {'warm wu':>8s} {'warmup':>8s} " if warmed else "")
              + f"{'first ms':>10s} {'median ms':>10s} {'p90 ms':>9s} {'compiled':>9s} "
              f"{'steady comp':>11s} {'compile ms':>10s} {'texture MiB':>11s} {'draws':>6s} {'host us/op':>10s} "
              f"{'unreplayed':>10s} {'replayed':>8s}")
    lines = [header, "-" * len(header)]
    for name, r in results.items():
        lines.append(f"{name:8s} {_ms(r.cold_first_ms, 9)} {_ms(r.warm_first_ms, 9)} "
                     + (f"{_ms(r.cold_warmup_ms, 8)} {_ms(r.warm_warmup_ms, 8)} {_ms(r.warmup_ms, 8)} "
                        if warmed else "")
                     + f"{r.first_ms:10.2f} {r.steady_median_ms:10.2f} {r.steady_p90_ms:9.2f} "
                     f"{r.programs_compiled_first + r.programs_compiled_warmup:9d} {r.programs_compiled_steady:11d} "
                     f"{r.compile_ms:10.1f} {r.texture_bytes / 2**20:11.2f} {r.draws_per_call:6.0f} "
                     f"{r.host_us_per_op:10.1f} {r.executor_host_us_per_op:10.1f} {'yes' if r.replayed else 'no':>8s}")
    lines += [f"{name}: not replayed: {r.replay_void_reason}" for name, r in results.items() if not r.replayed]
    lines += [f"{name}: steady calls made {r.textures_evicted_steady} textures again past the free-texture limit "
              f"(TFGL_TEXTURE_POOL_MB)" for name, r in results.items() if r.textures_evicted_steady]
    lines += [f"{name}: steady calls deleted {r.programs_evicted_steady} programs past the linked-program limit, "
              f"to link them again (TFGL_LINKED_PROGRAMS)" for name, r in results.items() if r.programs_evicted_steady]
    return "\n".join(lines)


def format_slowest(result: BenchResult) -> str:
    lines = [f"{'ms':>8s}  program (input shapes -> output shape; p: packed)"]
    lines += [f"{ms:8.1f}  {name} {shapes}" for name, shapes, ms in result.slowest_programs]
    return "\n".join(lines)


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401  (only --plot needs it: the optional extra tfgl[bench])
    except ImportError:
        raise TfglError("--plot needs matplotlib: pip install 'tfgl[bench]'") from None


def plot_timeline(results: dict[str, BenchResult], path: str, title: str) -> None:
    """The warm-up timeline as a PNG: latency per call per backend (cold and warm first calls of
    fresh processes first), and the cold process's compile time per program in compile order."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    figure, (calls, compiles) = plt.subplots(2, 1, figsize=(10, 7), layout="constrained")
    for name, r in results.items():
        fresh = [v for v in (r.cold_first_ms, r.warm_first_ms) if v is not None]
        timeline = fresh + ([r.warmup_ms] if r.warmup_ms is not None else []) + r.calls_ms
        line, = calls.plot(range(len(timeline)), timeline, marker="o", markersize=3, label=name)
        for index, label in enumerate(["cold 1st", "warm 1st"][:len(fresh)] +
                                      (["warmup()"] if r.warmup_ms is not None else []) + ["1st", "2nd"]):
            calls.annotate(label, (index, timeline[index]), textcoords="offset points", xytext=(4, 4),
                           fontsize=7, color=line.get_color())
    calls.set_yscale("log")
    calls.set_xlabel("call (fresh-process first calls, then this process's calls)")
    calls.set_ylabel("ms (log)")
    calls.set_title(title)
    calls.legend()
    calls.grid(True, which="both", alpha=0.3)
    for name, r in results.items():
        if r.program_compile_ms:
            compiles.bar(range(len(r.program_compile_ms)), r.program_compile_ms, label=name)
    compiles.set_xlabel("program, in compile order (cold process)")
    compiles.set_ylabel("compile ms (with its first draw)")
    compiles.set_title("compile time per program")
    compiles.grid(True, axis="y", alpha=0.3)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def format_profile(profile: dict[str, tuple[float, float]], top: int = 15) -> str:
    total = sum(ms for _, ms in profile.values()) or 1.0
    lines = [f"{'op':32s} {'calls':>6s} {'ms':>9s} {'share':>6s}"]
    for op, (calls, ms) in list(profile.items())[:top]:
        lines.append(f"{op:32s} {calls:6.0f} {ms:9.2f} {ms / total:6.1%}")
    return "\n".join(lines)


if __name__ == "__main__":
    _first_call_main()
