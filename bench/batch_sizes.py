"""New batch sizes on the WebGL backend: what each compiles, what its first call costs, and what the
process keeps, for a model called with batch sizes 1, 2, ... N in turn, side by side for two trees.

    python bench/batch_sizes.py [MODEL] [--sizes 12] [--before DIR] [--rounds 1]

MODEL: a model.json whose inputs have an unknown batch dimension (default: the small CNN example
shipped in engine/examples). DIR: another checkout of tfgl (a `git worktree`), measured in the same
rounds, alternating with this one. Each measurement is a fresh process with an empty private cache
(engine.webgl.shader_cache.use_private_folder), so every new program compiles, as on a first run.
Each batch size is called three times (the executor, the recording, a replay). Printed per tree: the
programs each size made, the first call of each new size (median over sizes after the first), the
programs linked at the end and the process's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = HERE / "engine" / "examples" / "small_cnn" / "model.json"


def measure(model_path: str, sizes: int) -> dict:
    """This process's run (its GL context must not exist yet: the cache is chosen first)."""
    import engine
    from engine.webgl import shader_cache
    folder = tempfile.mkdtemp(prefix="tfgl-batch-sizes-")
    try:
        shader_cache.use_private_folder(folder)
        return _calls(engine.load_model(model_path, backend="webgl"), model_path, sizes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _calls(model, model_path: str, sizes: int) -> dict:
    import numpy as np

    from engine.graph.model import random_array
    if not any(info.shape and info.shape[0] is None for info in model.inputs):
        raise SystemExit(f"{model_path}: no input has an unknown batch dimension")
    stats, rng = model.backend.stats, np.random.default_rng(0)
    made, first_ms = [], []
    for n in range(1, sizes + 1):
        inputs = {info.name: random_array(rng, tuple(n if i == 0 and d is None else 1 if d is None else d
                                                     for i, d in enumerate(info.shape or ())), info.dtype)
                  for info in model.inputs}
        before = stats.programs_made
        start = time.perf_counter()
        model.predict(inputs)
        first_ms.append((time.perf_counter() - start) * 1e3)
        for _ in range(2):
            model.predict(inputs)
        made.append(stats.programs_made - before)
    return {"made": made, "first_ms": first_ms, "linked": len(model.backend.programs.compiled),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_environment(tree: Path, environ=os.environ) -> dict:
    """The tree first on the path, then what the caller's PYTHONPATH holds (moderngl, where it is
    installed so, as on the lent GPU machine)."""
    return dict(environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tree), environ.get("PYTHONPATH")])))


def _run_tree(tree: Path, model: str, sizes: int) -> dict:
    done = subprocess.run([sys.executable, __file__, model, "--sizes", str(sizes), "--worker"],
                          capture_output=True, text=True, env=worker_environment(tree), cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'failed'}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    parser.add_argument("--sizes", type=int, default=12, help="batch sizes 1..SIZES (default 12)")
    parser.add_argument("--before", type=Path, help="another tfgl checkout to measure alongside")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes < 2 or args.rounds < 1:
        parser.error("--sizes takes 2 or more (the first size's call is every model's first), --rounds 1 or more")
    if "://" not in args.model:  # the workers run elsewhere
        args.model = str(Path(args.model).resolve())
    if args.worker:
        print(json.dumps(measure(args.model, args.sizes)))
        return 0
    trees = {"this tree": HERE} | ({"before": args.before.resolve()} if args.before else {})
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        for name in (list(trees) if round_ % 2 == 0 else list(trees)[::-1]):
            runs[name].append(_run_tree(trees[name], args.model, args.sizes))
    print(f"{args.model}: batch sizes 1..{args.sizes}, {args.rounds} round(s), fresh process and empty cache each")
    print(f"{'tree':10s} {'programs made per size':40s} {'new size first ms':>18s} {'linked':>7s} {'peak RSS MB':>12s}")
    medians = {}
    for name, results in runs.items():
        later = [ms for r in results for ms in r["first_ms"][1:]]
        medians[name] = statistics.median(later) if later else float("nan")
        made = " ".join(str(n) for n in results[0]["made"])
        print(f"{name:10s} {made:40s} {medians[name]:18.1f} {results[0]['linked']:7d} "
              f"{statistics.median(r['rss_mb'] for r in results):12.0f}")
    if args.before:
        print(f"new size's first call, this tree / before: {medians['this tree'] / medians['before']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
