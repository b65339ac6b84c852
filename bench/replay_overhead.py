"""Where a replayed draw's host time goes: tfgl's own share (Python, ctypes, argument conversion) and
the driver's, measured on the same recorded plan in one process.

    python bench/replay_overhead.py [MODEL ...] [--runs 30]

MODEL: model.json paths (default: the small CNN example). For each, the model is called until it
replays; then its plan's steady call list (engine/webgl/replay.py: one flat list of ctypes GL calls and
host steps) is issued `--runs` times as the replay issues it, and as many times again with every GL
entry point swapped for a C function that does nothing, with the same ctypes prototype, so the
argument conversions stay, the two alternating. The calling thread's CPU time per draw of each, and
their difference (the driver's share on that thread: its worker threads and time spent blocked do not
count), are printed, medians over the runs, each model's row as it is measured; a glFinish after each
run keeps draws from piling up. Host steps (CPU kernels inside a plan) are left out of both: they read
textures back.

With Mesa, GALLIUM_NOOP=1 puts a driver that draws nothing under Mesa's GL front end (the renderer
then reads "NOOP"): the "driver" column is then the front end's share alone, the state tracking every
Mesa hardware driver also does, without llvmpipe's rasterizing. `tfgl bench` runs there too, for a
whole steady call's host time per draw, on models that size nothing by values read back.
"""
from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "engine" / "examples" / "small_cnn" / "model.json"


def _no_op_address() -> int:
    """A C function that returns at once whatever it is passed (x86-64 and AArch64 callers clean up):
    libc's abs."""
    return ctypes.cast(ctypes.CDLL(None).abs, ctypes.c_void_p).value


def _gl_calls(calls: list) -> list:
    """The plan's GL calls, in order: its host steps are Python callables, not ctypes functions."""
    return [(call, args) for call, args in calls if isinstance(call, ctypes._CFuncPtr)]


def _stubbed(calls: list) -> list:
    address, stubs = _no_op_address(), {}
    out = []
    for call, args in calls:
        stub = stubs.get(id(call))
        if stub is None:
            stub = stubs[id(call)] = type(call)(address)
        out.append((stub, args))
    return out


def _per_draw_us(both: tuple[list, list], draws: int, runs: int, finish) -> tuple[float, float]:
    """Median CPU µs per draw of each call list, issued in turn `runs` times."""
    times: tuple[list, list] = ([], [])
    for _ in range(runs):
        for calls, spent in zip(both, times):
            start = time.thread_time()
            for call, args in calls:
                call(*args)
            spent.append(time.thread_time() - start)
            finish()
    return tuple(statistics.median(spent) * 1e6 / draws for spent in times)


def measure(path: str, runs: int) -> dict:
    """A row for the model at `path`: its numbers, or the error that stopped it."""
    import engine
    try:
        return {"model": path, **measure_model(engine.load_model(path, backend="webgl"), runs)}
    except Exception as error:  # noqa: BLE001 - one model's failure leaves the other rows
        return {"model": path, "error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"}


def measure_model(model, runs: int) -> dict:
    """The model's plan measured, for its example inputs; the model replays as before after."""
    from engine.bench import example_inputs
    inputs = example_inputs(model)
    for _ in range(3):
        model.predict(inputs)
    plan = model.replays.last
    if plan is None:
        return {"error": f"does not replay: {model.replays.void_reason or 'replays are off (TFGL_REPLAY=0)'}"}
    backend = model.backend
    real = _gl_calls(plan.steady_calls)
    stub = _stubbed(real)
    with backend.current():
        backend.gl.BindVertexArray(backend.gl.empty_vao)
        _per_draw_us((real, stub), plan.draws, 3, backend.ctx.finish)  # warm both paths up
        driver_us, tfgl_us = _per_draw_us((real, stub), plan.draws, runs, backend.ctx.finish)
    return {"draws": plan.draws, "gl_calls_per_draw": len(real) / plan.draws, "with_driver_us": driver_us,
            "tfgl_us": tfgl_us, "renderer": backend.ctx.info["GL_RENDERER"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=[str(DEFAULT_MODEL)])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"host CPU time per replayed draw (µs), medians of {args.runs} runs of each plan")
    print(f"{'model':60s} {'draws':>6s} {'GL calls':>9s} {'with driver':>12s} {'tfgl only':>10s} {'driver':>8s}")
    renderers = set()
    for path in args.models:
        r = measure(path, args.runs)
        name = r["model"][-60:]
        if "error" in r:
            print(f"{name:60s} {r['error']}", flush=True)
            continue
        renderers.add(r["renderer"])
        print(f"{name:60s} {r['draws']:6d} {r['gl_calls_per_draw']:9.1f} {r['with_driver_us']:12.1f} "
              f"{r['tfgl_us']:10.1f} {r['with_driver_us'] - r['tfgl_us']:8.1f}", flush=True)
    print(f"on {', '.join(sorted(renderers)) or 'no renderer (no model ran)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
