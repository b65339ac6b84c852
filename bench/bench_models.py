"""Warm-up vs steady state of the test fixtures and the example model on every backend, side by side.

    python bench/bench_models.py [--runs 30] [--json out.json]

Every shader disk cache is off (engine.webgl.shader_cache.switch_off: TFGL_PROGRAM_CACHE=0,
MESA_SHADER_CACHE_DISABLE=true, __GL_SHADER_DISK_CACHE=0), whatever the environment says, so first
calls compile cold. One process runs every model, so one model's programs are not cold for the next:
`tfgl bench --cold MODEL` measures one model from an empty cache.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine.webgl import shader_cache  # noqa: E402

shader_cache.switch_off()  # before the first GL context: the drivers read their cache settings only then

import engine  # noqa: E402
from engine.bench import benchmark  # noqa: E402
from engine.cli import EXAMPLE_MODEL  # noqa: E402

MODELS = {
    "example small_cnn": EXAMPLE_MODEL,
    "mobilenet_v2 (0.35, 96x96)": os.path.join(ROOT, "tests/fixtures/mobilenet_v2/model.json"),
    "mobilenet_v2 uint8": os.path.join(ROOT, "tests/fixtures/mobilenet_v2_uint8/model.json"),
    "lstm (control flow v1)": os.path.join(ROOT, "tests/fixtures/lstm_cf1/model.json"),
    "lstm (control flow v2)": os.path.join(ROOT, "tests/fixtures/lstm_cf2/model.json"),
}


def machine() -> str:
    renderer = ""
    backend = engine.backends.webgl.backend_for_thread()
    if backend is not None:
        renderer = f", GL: {backend.ctx.info['GL_RENDERER']} ({backend.ctx.info['GL_VERSION']})"
    return f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs{renderer}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    print(machine())
    header = f"{'model':30s} {'backend':8s} {'first ms':>9s} {'median ms':>10s} {'p90 ms':>8s} {'first/steady':>12s} " \
             f"{'compiled':>8s} {'steady comp':>11s} {'compile ms':>10s}"
    print(header)
    print("-" * len(header))
    results = {}
    for name, path in MODELS.items():
        for backend in engine.available_backends():
            model = engine.load_graph_model(path, backend=backend)
            r = benchmark(model, args.runs)
            results.setdefault(name, {})[backend] = r.summary()
            print(f"{name:30s} {backend:8s} {r.first_ms:9.1f} {r.steady_median_ms:10.2f} {r.steady_p90_ms:8.2f} "
                  f"{r.first_ms / r.steady_median_ms:12.1f} {r.programs_compiled_first:8d} "
                  f"{r.programs_compiled_steady:11d} {r.compile_ms:10.1f}")
        per = results[name]
        if "webgl" in per and "cpu" in per:
            ratio = per["webgl"]["steady_median_ms"] / per["cpu"]["steady_median_ms"]
            print(f"{'':30s} webgl/cpu steady ratio: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"machine": machine(), "results": results}, file, indent=1)


if __name__ == "__main__":
    main()
