"""The `tfgl` command: convert | run | batch | bench | demo | ops | cache | conformance.

Each command imports the engine (or the converter) when it runs, not at start-up: `tfgl --help` stays
fast, and `bench` can choose the drivers' cache variables before anything loads a GL driver.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence

import numpy as np

from engine.errors import InputError, TfglError

EXAMPLE_MODEL = os.path.join(os.path.dirname(__file__), "examples", "small_cnn", "model.json")
# engine.backends.BACKEND_NAMES, spelled out so that `tfgl --help` loads no backend.
BACKENDS = ("cpu", "webgl", "webgl-fp16")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfgl", description="Run TensorFlow.js models from Python on OpenGL "
                                                              "(WebGL-style shaders) or numpy, and convert models.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from converter.cli import add_arguments
    add_arguments(commands.add_parser("convert", help="convert a model (tensorflowjs_converter's flags)"))

    run = commands.add_parser("run", help="run a TF.js graph or layers model on inputs from .npy or .json files")
    run.add_argument("model", help="model.json path or URL")
    run.add_argument("--backend", choices=BACKENDS, help="default: webgl where a GL context can be made; "
                                                          "webgl-fp16: a phone's half-float storage")
    run.add_argument("--input", action="append", default=[], metavar="[NAME=]FILE.npy|FILE.json",
                     help="an input: a .npy file, or a .json (nested) list of numbers or strings; NAME is a "
                          "signature key, node name or tensor name (x:0). Without --input, random inputs of "
                          "the signature's shapes are used")
    run.add_argument("--output", metavar="OUT.npz", help="write every output, keyed by output name")

    batch = commands.add_parser("batch", help="run a model over many inputs on Ray Data workers (tfgl[ray])")
    batch.add_argument("model", help="model.json path or URL (a path every Ray node can read)")
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="a .npy (rows along the first axis; single-input models), an .npz (one array per "
                            "model input) or a folder of images (file-name order, not resized); several are "
                            "read one after another")
    batch.add_argument("--output", required=True, metavar="OUT.npz|OUT.parquet",
                       help="one array (.npz) or column (.parquet) per output, rows in input order")
    batch.add_argument("--workers", type=int, default=1, help="Ray actors, each with its own model (default 1)")
    batch.add_argument("--batch-size", type=int, default=64, help="rows per call of a worker (default 64)")
    batch.add_argument("--backend", choices=BACKENDS,
                       help="default: webgl where a worker can make a GL context")
    batch.add_argument("--num-gpus", type=float, default=0.0, metavar="F",
                       help="GPUs Ray reserves per worker (fractions share one); its GL context opens on that GPU")
    batch.add_argument("--address", help="the Ray cluster to join (ray.init's address); default: start a local one")
    batch.add_argument("--quiet", action="store_true", help="no progress bars (Ray Data's)")

    bench = commands.add_parser("bench", help="first-call vs steady-state latency per backend, with cold and "
                                              "warm first calls of fresh processes")
    bench.add_argument("model", help="model.json path or URL")
    bench.add_argument("--backend", default=None,
                       help="comma separated, e.g. webgl,cpu,webgl-fp16 (default: all available)")
    bench.add_argument("--runs", type=int, default=20, help="steady-state calls per backend")
    bench.add_argument("--json", action="store_true", help="print one JSON object keyed by backend")
    caching = bench.add_mutually_exclusive_group()
    caching.add_argument("--cold", action="store_true",
                         help="start from an empty, private shader cache (a first run after install); "
                              "by default the first call uses the cache as a user's would")
    caching.add_argument("--no-cache", action="store_true",
                         help="no shader disk cache at all (tfgl's and the drivers' off)")
    bench.add_argument("--profile", action="store_true", help="also print the time per op, each op waited for")
    bench.add_argument("--warmup", action="store_true",
                       help="call model.warmup() (compile only) before the first call, and time it")
    bench.add_argument("--plot", metavar="FILE.png",
                       help="draw the warm-up timeline (latency per call, compile time per program); "
                            "needs matplotlib (tfgl[bench])")

    demo = commands.add_parser("demo", help="run the example model shipped with tfgl on every backend")
    demo.add_argument("--runs", type=int, default=20, help="steady-state calls per backend")

    ops = commands.add_parser("ops", help="op coverage per backend, beside what TF.js's WebGL backend does")
    ops.add_argument("--json", action="store_true")

    cache = commands.add_parser("cache",
                                help="the shader disk cache ($TFGL_CACHE/shaders and /programs): report or clear it")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="where it is, what it holds, its limit and the variables that steer it")
    info.add_argument("--json", action="store_true")
    actions.add_parser("clear", help="delete the compiled shaders and program binaries (the rest of $TFGL_CACHE stays)")
    _add_conformance(commands)
    return parser


def _add_conformance(commands) -> None:
    from engine.conformance.compare import DEFAULT_ATOL, DEFAULT_RTOL
    conformance = commands.add_parser("conformance", help="every node of a model on each backend against a "
                                                          "reference; --kernels: the kernel cases on this GL driver")
    conformance.add_argument("models", nargs="*", metavar="MODEL.json", help="graph model(s): model.json path or URL")
    conformance.add_argument("--kernels", action="store_true",
                             help="run tfgl's kernel cases on this machine's driver instead: pass/fail per op "
                                  "and backend")
    conformance.add_argument("--backends", help="comma separated, e.g. webgl,cpu (default: all available)")
    conformance.add_argument("--reference", choices=["cpu", "tf", "tfjs"], default="cpu",
                             help="cpu: tfgl's CPU kernels in float64 (default); tf: TensorFlow through tfgl's "
                                  "reverse converter; tfjs: TF.js in node")
    conformance.add_argument("--inputs", metavar="FILE.npz", help="one array per model input, keyed by input name "
                                                                   "(default: random, seeded)")
    conformance.add_argument("--atol", type=float, default=DEFAULT_ATOL, help=f"default {DEFAULT_ATOL:g}")
    conformance.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                             help=f"an element is out of tolerance when |value - reference| > atol + rtol * "
                                  f"max|reference| (the tensor's largest; default {DEFAULT_RTOL:g})")
    conformance.add_argument("--html", metavar="REPORT.html", help="one self-contained page (needs tfgl[bench])")
    conformance.add_argument("--json", metavar="REPORT.json", help="the same data as JSON")
    conformance.add_argument("--quiet", action="store_true", help="no progress bars")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (TfglError, OSError) as error:
        if args.debug:
            traceback.print_exc()
        message = str(error).strip() or type(error).__name__
        print(f"tfgl {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tfgl {args.command}: interrupted", file=sys.stderr)
        return 130


def _convert(args: argparse.Namespace) -> int:
    from converter.cli import run
    return run(args)


def _load(location: str, backend: str | None):
    """A graph or layers model, whichever the model.json's `format` says."""
    import engine
    return engine.load_model(location, backend=backend, progress=True)


def _read_inputs(model, specs: list[str]) -> dict[str, np.ndarray]:
    if not specs:
        rng = np.random.default_rng(0)
        from engine.graph.model import random_array
        print("no --input given: using random inputs of the signature's shapes", file=sys.stderr)
        return {i.name: random_array(rng, tuple(1 if d is None else d for d in (i.shape or ())), i.dtype)
                for i in model.inputs}
    inputs = {}
    for spec in specs:
        name, sep, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        if not name:
            if len(model.inputs) != 1:
                raise InputError(f"the model has {len(model.inputs)} inputs; write --input NAME=FILE.npy")
            name = model.inputs[0].name
        try:
            inputs[name] = _read_input_file(path)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read input {name!r} from {path}: {error}") from None
    return inputs


def _read_input_file(path: str) -> np.ndarray:
    """A .npy array, or a .json (nested) list of numbers or strings, as text models take."""
    if not path.lower().endswith(".json"):
        return np.load(path, allow_pickle=False)
    with open(path, encoding="utf-8") as file:
        values = json.load(file)
    leaves = np.array(values, dtype=object)  # ragged lists fail here, with numpy's ValueError
    kinds = {type(value) for value in leaves.reshape(-1)}
    if not kinds or kinds <= {int, float, bool}:
        return np.array(values)
    if kinds == {str}:
        return leaves.astype(str)
    raise ValueError("a JSON input must be a number, a string or a rectangular (nested) list of numbers or "
                     "of strings")


def summary_line(name: str, value: np.ndarray) -> str:
    line = f"  {name}: shape {list(value.shape)} {value.dtype}"
    if value.size and value.dtype.kind in "biuf":
        finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
        if finite.size:
            line += f"  min {finite.min():.6g}  max {finite.max():.6g}  mean {finite.mean():.6g}"
        head = ", ".join(f"{v:.6g}" if value.dtype.kind == "f" else str(v) for v in value.reshape(-1)[:5])
        line += f"  [{head}{', ...' if value.size > 5 else ''}]"
    return line


def _run(args: argparse.Namespace) -> int:
    model = _load(args.model, args.backend)
    inputs = _read_inputs(model, args.input)
    names = [info.name for info in model.outputs]
    values = model.execute(inputs, names)
    if args.output:
        _save_npz(args.output, dict(zip(names, values)))
        print(f"wrote {len(names)} output(s) to {args.output}")
    else:
        print(f"{args.model} on {model.backend.name}:")
        for name, value in zip(names, values):
            print(summary_line(name, value))
    return 0


def _save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    from engine.batch_io import staged
    with staged(path) as staging:
        np.savez(staging, **arrays)


def _batch(args: argparse.Namespace) -> int:
    from engine import batch_io
    batch_io.check_output(args.output)
    if args.workers < 1 or args.batch_size < 1:
        raise InputError("--workers and --batch-size must be at least 1")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise TfglError("tfgl batch needs Ray: pip install 'tfgl[ray]'") from None
    from engine.ray import predict_batches
    signature = _load(args.model, "cpu")  # to check every input before any worker starts
    sources = batch_io.read_sources(args.inputs, signature.inputs)
    total = sum(len(next(iter(columns.values()))) for columns in sources)
    location = os.path.abspath(args.model) if os.path.exists(args.model) else args.model
    written = 0
    with batch_io.output_writer(args.output) as write:
        for outputs in predict_batches(location, sources, workers=args.workers, batch_size=args.batch_size,
                                       backend=args.backend, num_gpus=args.num_gpus, address=args.address,
                                       progress=not args.quiet):
            write(outputs)
            written += len(next(iter(outputs.values())))
        if written != total:
            raise TfglError(f"Ray returned {written} rows for {total} inputs; {args.output} not written")
    print(f"wrote {written} rows of {len(signature.outputs)} output(s) to {args.output}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    # The drivers read their cache variables once, at the process's first GL context: choose before it.
    from engine.webgl import shader_cache
    if args.no_cache:
        shader_cache.switch_off()
        return _bench_models(args, "off")
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="tfgl-cold-") as private:
            shader_cache.use_private_folder(private)
            return _bench_models(args, "cold (empty private cache)")
    if not shader_cache.enabled():
        return _bench_models(args, f"left to the drivers ({shader_cache.SWITCH_VARIABLE}=0)")
    return _bench_models(args, f"on ({shader_cache.shader_folder()})")


def _bench_models(args: argparse.Namespace, cache: str) -> int:
    import engine
    from engine import bench
    backends = args.backend.split(",") if args.backend else engine.available_backends()
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise InputError(f"unknown backend(s) {', '.join(unknown)}: use {', '.join(BACKENDS)}")
    if args.plot:
        bench.require_matplotlib()
    results, profiles = {}, {}
    for name in backends:
        model = _load(args.model, name)
        if model.backend.name == "cpu" != name:  # no GL context
            raise InputError(f"backend {name} is not available here")
        results[name] = bench.benchmark(model, args.runs, warmup=args.warmup)
        fresh = bench.fresh_first_calls(args.model, name, args.warmup, cache=not args.no_cache)
        results[name] = dataclasses.replace(results[name], **fresh)
        if args.profile:
            profiles[name] = bench.profile_ops(model)
    if args.json:
        print(json.dumps({name: dict(r.summary(), **({"profile": profiles[name]} if name in profiles else {}))
                          for name, r in results.items()}))
    else:
        print(f"{args.model}: {args.runs} steady calls per backend; shader cache {cache} "
              f"(cold/warm 1st: a fresh process's first call{' after its warmup()' if args.warmup else ''} with empty "
              f"caches / with what the cold one left; "
              f"{'wu: its warmup(); ' if args.warmup else ''}first ms: this process's first call"
              f"{' after warmup()' if args.warmup else ''}; host us/op: the calling thread's CPU time per GL draw, "
              f"Python and driver; unreplayed: the same with every op dispatched by the executor)")
        print(bench.format_table(results))
        for name, result in results.items():
            if result.slowest_programs:
                print(f"\nslowest programs to compile, {name} (cold process):")
                print(bench.format_slowest(result))
        for name, profile in profiles.items():
            print(f"\nper op, {name} (ms per call):")
            print(bench.format_profile(profile))
    if args.plot:
        bench.plot_timeline(results, args.plot, f"{os.path.basename(os.path.dirname(args.model)) or args.model}: "
                                                f"latency per call")
        print(f"wrote the warm-up timeline to {args.plot}", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    import engine
    print(f"example model: {EXAMPLE_MODEL}")
    for backend in engine.available_backends():
        model = engine.load_graph_model(EXAMPLE_MODEL, backend=backend)
        x = np.random.default_rng(0).standard_normal((1,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
        start = time.perf_counter()
        y = model.predict(x)
        first = (time.perf_counter() - start) * 1e3
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            model.predict(x)
            times.append((time.perf_counter() - start) * 1e3)
        print(f"\nbackend {backend}: {model!r}")
        outputs = y if isinstance(y, dict) else {model.outputs[0].name: y}
        for name, value in outputs.items():
            print(summary_line(name, value))
        print(f"  first call {first:.2f} ms, steady state median {np.median(times):.2f} ms "
              f"over {args.runs} calls ({first / np.median(times):.1f}x)")
    return 0


def _ops(args: argparse.Namespace) -> int:
    from engine.coverage import coverage_report
    return coverage_report(as_json=args.json)


def _cache(args: argparse.Namespace) -> int:
    from engine.webgl import shader_cache
    if args.action == "clear":
        freed = shader_cache.clear()
        print(f"cleared {shader_cache.shader_folder()} and {shader_cache.program_folder()}: {freed.entries} files, "
              f"{_size(freed.bytes)}")
        return 0
    report = shader_cache.info()
    if args.json:
        print(json.dumps(dataclasses.asdict(report)))
        return 0
    state = "on" if report.enabled else f"off ({shader_cache.SWITCH_VARIABLE}=0: drivers use their own defaults)"
    print(f"shader cache {report.path}: {state}, limit {_size(report.limit_bytes)} per driver")
    print(f"  total      {_size(report.total.bytes):>10}  {report.total.entries} files")
    for name, usage in sorted(report.subfolders.items()):
        print(f"  {name:10s} {_size(usage.bytes):>10}  {usage.entries} files")
    binaries = "" if report.binaries else f" (off: {shader_cache.BINARIES_VARIABLE}=0)"
    print(f"  programs   {_size(report.programs.bytes):>10}  {report.programs.entries} files in "
          f"{report.programs_path}{binaries}")
    for driver, settings in report.user_settings.items():
        print(f"  {driver}: your settings win: {', '.join(settings)}")
    return 0


def _conformance(args: argparse.Namespace) -> int:
    from engine.conformance.command import run
    return run(args)


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


_COMMANDS = {"convert": _convert, "run": _run, "batch": _batch, "bench": _bench, "demo": _demo, "ops": _ops,
             "cache": _cache, "conformance": _conformance}


if __name__ == "__main__":
    sys.exit(main())
