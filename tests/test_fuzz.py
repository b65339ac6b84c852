"""Property-based fuzzing of model loading and running: real model.json files and shards (the
fixtures) are mutated at the JSON level (any key at any depth deleted, replaced or retyped; nodes
duplicated, dropped, renamed, rewired; huge and negative dimensions; manifest paths, shapes, dtypes,
quantization and names; signatures), at the byte level (shards truncated, extended, bytes flipped)
and at the file level (truncated JSON, bytes that are not UTF-8). Every case must end, within a
time bound, in numpy outputs or an `engine.errors.TfglError`, never in another exception, and no
case may attempt a huge allocation (the process runs under an address-space limit while fuzzing, so
such an attempt shows up as a MemoryError somewhere in the error's chain)."""
from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import random
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import engine
from engine.bench import example_inputs
from engine.errors import TfglError
from engine.io import Limits

resource = pytest.importorskip("resource")  # (POSIX)
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

# numpy's RuntimeWarnings (sqrt of a corrupted negative variance, ...) are expected on mutated weights;
# a time bound's alarm may land in a gc callback, which Python reports as unraisable (time_bound repeats it)
pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

FIXTURES = Path(__file__).parent / "fixtures"
GRAPH_MODELS = ["small_cnn", "mobilenet_v2", "mobilenet_v2_uint8", "mobilenet_v2_float16", "lstm_cf1", "lstm_cf2",
                "loop_cf1"]
LAYERS_MODELS = ["layers_cnn", "layers_cnn_uint8", "layers_lstm", "layers_mlp_k3_split", "layers_mlp_keras"]
CASE_SECONDS = 20                   # every case ends within this
MAX_TENSOR_BYTES = 256 * 1024 ** 2  # engine.io.Limits while fuzzing: a refused weight, never an attempted one
MAX_LOOP_ITERATIONS = 10_000        # the fixtures' loops run a few dozen iterations
ADDRESS_SPACE_HEADROOM = 3 * 1024 ** 3  # above what the process had mapped: an attempt to allocate more fails
MAX_FEED_ELEMENTS = 1 << 22          # inputs the harness itself builds for a mutated signature
# TFGL_FUZZ_SCALE=10 runs ten times the examples (same derandomized start); CI runs 300 in all.
SCALE = float(os.environ.get("TFGL_FUZZ_SCALE", "1") or 1)

# Values a mutated field may take: edges of every integer width, specials, wrong types, hostile paths.
INTERESTING = [
    0, 1, -1, 2, 3, 7, 2 ** 31 - 1, 2 ** 31, -2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64, -2 ** 63, 10 ** 30,
    -10 ** 30, 10 ** 400, 0.5, -0.0, 1e308, -1e308, math.nan, math.inf, -math.inf,
    "", "0", "-1", "3", "99999999999", "-99999999999", "1e9", "NaN", "Infinity", "x", "\u00e9\u4e2d", "\x00",
    None, True, False, [], {}, [[]], [None], {"": {}}, [1, 2, 3], [-1, -1], [2 ** 31, 2 ** 31],
    "DT_INVALID", "DT_STRING", "DT_COMPLEX64", "DT_BOOL", "DT_INT64", "DT_HALF", "DT_RESOURCE", "DT_VARIANT",
    "float32", "int32", "bool", "string", "complex64", "uint8", "uint16", "float16", "int64",
    "../model.json", "/etc/passwd", "%2e%2e/x", "http://example.invalid/x.bin", "group1-shard1of1.bin",
    "file:///etc/passwd", "C:\\x", "SAME", "VALID", "EXPLICIT", "NHWC", "NCHW",
]


# -- where choices come from --------------------------------------------------------------------

class Chooser:
    """The choices a mutation makes: drawn from hypothesis's data (reproducible and shrinkable) or
    from a random.Random (for long exploratory runs: `python tests/test_fuzz.py N`)."""

    def __init__(self, data=None, rng: random.Random | None = None):
        self.data, self.rng = data, rng

    def integer(self, lo: int, hi: int) -> int:
        if hi <= lo:
            return lo
        if self.data is not None:
            # Drawn over 32 bits and folded: hypothesis favours small values, which would make every
            # first entry of a list (the first key, the first node) far likelier than the others;
            # shrinking still goes towards `lo`.
            return lo + self.data.draw(UNIFORM) % (hi - lo + 1)
        return self.rng.randint(lo, hi)

    def choice(self, items):
        items = list(items)
        return items[self.integer(0, len(items) - 1)]

    def chance(self, numerator: int, denominator: int) -> bool:
        return self.integer(1, denominator) <= numerator

    def json_value(self) -> Any:
        if self.chance(2, 3):
            return copy.deepcopy(self.choice(INTERESTING))
        if self.data is not None:
            return self.data.draw(JSON_VALUES)
        return _random_json(self.rng, 2)

    def text(self) -> str:
        if self.data is not None:
            return self.data.draw(st.text(max_size=12))
        return "".join(chr(self.rng.choice([self.rng.randint(32, 126), self.rng.randint(0, 0x2FFF)]))
                       for _ in range(self.rng.randint(0, 12)))


UNIFORM = st.integers(0, 2 ** 32 - 1)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8)


def _random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.randint(0, 7 if depth > 0 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-2 ** 40, 2 ** 40)
    if kind == 3:
        return rng.choice([rng.uniform(-1e6, 1e6), math.nan, math.inf])
    if kind in (4, 5):
        return "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 8)))
    if kind == 6:
        return [_random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {str(rng.randint(0, 99)): _random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))}


# -- JSON mutations -----------------------------------------------------------------------------

def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a JSON value (the root excluded)."""
    out = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return out
    for key, child in items:
        path = prefix + (key,)
        out.append(path)
        out.extend(_paths(child, path))
    return out


def _get(root: Any, path: tuple) -> Any:
    for key in path:
        root = root[key]
    return root


def _retyped(value: Any, c: Chooser) -> Any:
    """The same value under another JSON type: 24 -> "24" / [24] / {"24": 24} / 24.5 / None ..."""
    options = [
        lambda: str(value) if not isinstance(value, str) else (int(value) if value.lstrip("-").isdigit() else [value]),
        lambda: [value],
        lambda: {str(value)[:8]: value},
        lambda: None,
        lambda: (float(value) + 0.5) if isinstance(value, (int, float)) and not isinstance(value, bool) else 1.5,
        lambda: bool(value) if not isinstance(value, bool) else int(value),
        lambda: list(value.values()) if isinstance(value, dict) else value,
        lambda: dict(enumerate(value)) if isinstance(value, list) else value,
    ]
    result = c.choice(options)()
    return {str(k): v for k, v in result.items()} if isinstance(result, dict) else result


def _extreme_number(value: Any, c: Chooser) -> Any:
    """Huge, negative or zero variants of a number (or a numeric string, as proto JSON writes int64)."""
    number = c.choice([0, -1, -2, 2 ** 31, 2 ** 31 - 1, -2 ** 31, 2 ** 40, 2 ** 63, 10 ** 12, 10 ** 30])
    return str(number) if isinstance(value, str) else number


def mutate_at(root: Any, path: tuple, c: Chooser, strings: list[str]) -> None:
    """One mutation of the value at `path` (delete, replace, retype, extreme number, another
    string of the document, list edits)."""
    parent, key = _get(root, path[:-1]), path[-1]
    value = parent[key]
    operations = ["delete", "replace", "retype"]
    if isinstance(value, (int, float)) and not isinstance(value, bool) or \
            isinstance(value, str) and value.lstrip("-").isdigit():
        operations += ["extreme"] * 3
    if isinstance(value, str):
        operations += ["other_string", "edit_string"]
    if isinstance(value, list) and value:
        operations += ["duplicate_item", "drop_item", "reverse", "truncate"]
    if isinstance(value, dict) and value:
        operations += ["drop_key", "add_key"]
    operation = c.choice(operations)
    if operation == "delete":
        if isinstance(parent, list):
            del parent[key]
        else:
            del parent[key]
    elif operation == "replace":
        parent[key] = c.json_value()
    elif operation == "retype":
        parent[key] = _retyped(value, c)
    elif operation == "extreme":
        parent[key] = _extreme_number(value, c)
    elif operation == "other_string":
        parent[key] = c.choice(strings) if strings else ""
    elif operation == "edit_string":
        parent[key] = c.choice([value + c.text(), value[:c.integer(0, len(value))], c.text(), value + ":1",
                                value + ":7", "^" + value, value + ":out:0"])
    elif operation == "duplicate_item":
        value.insert(c.integer(0, len(value)), copy.deepcopy(value[c.integer(0, len(value) - 1)]))
    elif operation == "drop_item":
        del value[c.integer(0, len(value) - 1)]
    elif operation == "reverse":
        value.reverse()
    elif operation == "truncate":
        del value[c.integer(0, len(value) - 1):]
    elif operation == "drop_key":
        del value[c.choice(list(value))]
    elif operation == "add_key":
        value[c.choice(["dim", "size", "name", "op", "input", "attr", "value", "list", "tensor", "i", "f", "s",
                        "shape", "type", "unknownRank", "quantization", "dtype", "min", "scale", "paths",
                        "weights", "class_name", "config", "inbound_nodes", c.text()])] = c.json_value()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)] + [k for k in value if isinstance(k, str)][:50]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# Regions of model.json a mutation aims at (then the region itself or any path inside it), listed
# as often as they should be picked: the node list would otherwise get nearly every mutation, and
# the one-path regions (format) would get far more than their worth.
GRAPH_REGIONS = [(), ("format",), ("signature",), ("signature",), ("modelTopology",), ("modelTopology", "library"),
                 ("weightsManifest",), ("weightsManifest",), ("weightsManifest",)] + [("modelTopology", "node")] * 4
LAYERS_REGIONS = [(), ("format",), ("modelTopology",), ("modelTopology", "model_config"), ("weightsManifest",),
                  ("weightsManifest",)] + [("modelTopology", "model_config", "config", "layers")] * 5


def mutate_json(data: dict, c: Chooser, count: int, layers: bool) -> list[str]:
    """Applies `count` mutations; returns what was done (for the failure report)."""
    done = []
    strings = sorted(set(_strings(data)))[:400]
    for _ in range(count):
        structural = None if layers else _graph_structural(data, c)
        if structural is not None:
            done.append(structural)
            continue
        regions = [r for r in (LAYERS_REGIONS if layers else GRAPH_REGIONS) if _exists(data, r)]
        region = c.choice(regions)
        paths = ([region] + _paths(_get(data, region), region)) if region else _paths(data)
        if not paths:
            continue
        path = c.choice(paths)
        before = _summary(_get(data, path))
        mutate_at(data, path, c, strings)
        after = _summary(_get(data, path)) if _exists(data, path) else "<deleted>"
        done.append(f"{list(path)}: {before} -> {after}")
    return done


def _graph_structural(data: dict, c: Chooser) -> str | None:
    """Node-level mutations of a graph model, one time in three."""
    nodes = data.get("modelTopology", {}).get("node") if isinstance(data.get("modelTopology"), dict) else None
    if not isinstance(nodes, list) or not nodes or not c.chance(1, 3):
        return None
    i = c.integer(0, len(nodes) - 1)
    node = nodes[i]
    if not isinstance(node, dict):
        return None
    names = [n.get("name") for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)]
    ops = sorted({n.get("op") for n in nodes if isinstance(n, dict) and isinstance(n.get("op"), str)})
    operation = c.choice(["duplicate", "drop", "rename", "rewire", "change_op", "attr", "attr", "attr"])
    name = node.get("name")
    if operation == "duplicate":
        nodes.insert(c.integer(0, len(nodes)), copy.deepcopy(node))
    elif operation == "drop":
        del nodes[i]
    elif operation == "rename":
        node["name"] = c.choice(names + [name + "_renamed", ""])
    elif operation == "rewire":
        inputs = node.setdefault("input", [])
        if not isinstance(inputs, list):
            return None
        source = c.choice(names) + c.choice(["", "", ":1", ":3", ":0"]) if c.chance(4, 5) else "^" + c.choice(names)
        if inputs and c.chance(2, 3):
            inputs[c.integer(0, len(inputs) - 1)] = source
        else:
            inputs.insert(c.integer(0, len(inputs)), source)
        return f"node {name!r}: inputs -> {inputs[:6]}"
    elif operation == "change_op":
        node["op"] = c.choice(ops + ["NoSuchOp", "Placeholder", "Const", "Identity", "While", "If", "Enter"])
        return f"node {name!r}: op -> {node['op']!r}"
    else:
        attrs = node.get("attr")
        if not isinstance(attrs, dict) or not attrs:
            return None
        key = c.choice(sorted(attrs))
        before = _summary(attrs[key])
        paths = [(key,)] + _paths(attrs[key], (key,))
        mutate_at(attrs, c.choice(paths), c, [name] + names[:20])
        return f"node {name!r} attr {key!r}: {before} -> {_summary(attrs.get(key, '<deleted>'))}"
    return f"{operation} node {name!r}"


def _exists(root: Any, path: tuple) -> bool:
    try:
        _get(root, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def _summary(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 100 else text[:97] + "..."


# -- byte and file mutations --------------------------------------------------------------------

def mutate_shard(data: bytes, c: Chooser) -> tuple[bytes, str]:
    operation = c.choice(["truncate", "extend", "flip", "flip", "flip", "empty"])
    if operation == "truncate" and data:
        cut = c.integer(0, len(data) - 1)
        return data[:cut], f"truncated to {cut} of {len(data)} bytes"
    if operation == "extend":
        extra = c.integer(1, 64)
        return data + bytes(c.integer(0, 255) for _ in range(extra)), f"extended by {extra} bytes"
    if operation == "flip" and data:
        out = bytearray(data)
        flips = []
        for _ in range(c.integer(1, 16)):
            position = c.integer(0, len(out) - 1)
            out[position] = c.integer(0, 255)
            flips.append(position)
        return bytes(out), f"bytes {flips} replaced"
    return b"", "emptied"


def mutate_raw(data: bytes, c: Chooser) -> tuple[bytes, str]:
    operation = c.choice(["truncate", "invalid_utf8", "bom", "empty", "nul"])
    if operation == "truncate":
        cut = c.integer(0, len(data) - 1)
        return data[:cut], f"model.json truncated to {cut} bytes"
    if operation == "invalid_utf8":
        position = c.integer(0, len(data))
        junk = c.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        return data[:position] + junk + data[position:], f"{junk!r} inserted at {position}"
    if operation == "bom":
        return b"\xef\xbb\xbf" + data, "UTF-8 BOM prepended"
    if operation == "nul":
        return data.replace(b'"', b'"\x00', 1), "NUL inside the first string"
    return b"", "model.json emptied"


# -- one case -----------------------------------------------------------------------------------

@dataclass
class Case:
    fixture: str
    files: dict[str, bytes]
    done: list[str] = field(default_factory=list)
    loader: str = "load_model"


_ORIGINALS: dict[str, dict[str, bytes]] = {}


def original_files(fixture: str) -> dict[str, bytes]:
    if fixture not in _ORIGINALS:
        folder = FIXTURES / fixture
        _ORIGINALS[fixture] = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    return _ORIGINALS[fixture]


def make_case(fixture: str, c: Chooser, kinds: tuple[str, ...]) -> Case:
    files = dict(original_files(fixture))
    case = Case(fixture, files)
    layers = fixture.startswith("layers_")
    kind = c.choice(kinds)
    if kind == "json":
        data = json.loads(files["model.json"])
        case.done = mutate_json(data, c, c.integer(1, 3), layers)
        files["model.json"] = json.dumps(data).encode()
    elif kind == "shard":
        shards = sorted(name for name in files if name.endswith(".bin"))
        shard = c.choice(shards)
        if c.chance(1, 8):
            del files[shard]
            case.done = [f"{shard} deleted"]
        else:
            files[shard], what = mutate_shard(files[shard], c)
            case.done = [f"{shard} {what}"]
    else:
        files["model.json"], what = mutate_raw(files["model.json"], c)
        case.done = [what]
    case.loader = c.choice(["load_model", "load_model", "load_graph_model" if not layers else "load_layers_model",
                            "load_graph_model" if layers else "load_layers_model"])
    return case


class CaseTimeout(BaseException):
    """A case ran past CASE_SECONDS (a BaseException, so no `except Exception` in the engine swallows it)."""


@contextlib.contextmanager
def time_bound(seconds: float):
    if not hasattr(signal, "SIGALRM"):  # (Windows) unbounded
        yield
        return

    def expire(_signum, _frame):
        raise CaseTimeout(f"the case ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    # Repeating: an alarm that lands in a finalizer (a tensor's __del__ during garbage collection)
    # raises there, where Python only reports it as unraisable; the next one stops the case.
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # someone else's alarm (pytest-timeout's signal method): give back what is left of it
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), outer_interval)


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def memory_bound():
    """Caps the address space a little above what is mapped now, and engine.io's tensor limit below
    it: an allocation the engine should have refused fails (MemoryError) instead of being made."""
    old_limit, old_loops = Limits.max_tensor_bytes, Limits.max_loop_iterations
    Limits.max_tensor_bytes = MAX_TENSOR_BYTES
    Limits.max_loop_iterations = MAX_LOOP_ITERATIONS  # a corrupted loop step ends in a GraphError, not the time bound
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped_bytes() + ADDRESS_SPACE_HEADROOM if sys.platform.startswith("linux") else None
    capped = cap is not None and (hard == resource.RLIM_INFINITY or cap < hard)
    if capped:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        if capped:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        Limits.max_tensor_bytes, Limits.max_loop_iterations = old_limit, old_loops


def _feeds(model, original) -> Any:
    """Inputs for the (possibly mutated) signature, when they are of a sane size; otherwise the
    original model's inputs (what a user would feed), which the mutated model may reject."""
    sizes = [math.prod(1 if d is None else d for d in (info.shape or ())) for info in model.inputs]
    if all(0 <= s <= MAX_FEED_ELEMENTS for s in sizes) and all(
            d is None or d >= 0 for info in model.inputs for d in (info.shape or ())):
        return example_inputs(model)
    return original


def _original_inputs(fixture: str):
    model = engine.load_model(str(FIXTURES / fixture), backend="cpu")
    return example_inputs(model)


_INPUTS: dict[str, Any] = {}


def run_case(case: Case, folder: Path, backend: str) -> str:
    """Writes the case's files, loads and runs them. Returns 'ok' or the TfglError's class name;
    raises anything else."""
    if case.fixture not in _INPUTS:
        _INPUTS[case.fixture] = _original_inputs(case.fixture)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    with time_bound(CASE_SECONDS), memory_bound():
        try:
            model = getattr(engine, case.loader)(str(folder / "model.json"), backend=backend)
            outputs = model.predict(_feeds(model, _INPUTS[case.fixture]))
        except TfglError as error:
            _no_attempted_allocation(error)
            return type(error).__name__
    values = outputs.values() if isinstance(outputs, dict) else [outputs]
    assert all(isinstance(v, np.ndarray) for v in values), f"predict returned {type(outputs)}"
    return "ok"


def _no_attempted_allocation(error: BaseException) -> None:
    for link in _chain(error):
        if isinstance(link, MemoryError):
            raise AttemptedAllocation("a huge allocation was attempted instead of refused") from link


class AttemptedAllocation(AssertionError):
    pass


REPO = Path(__file__).resolve().parent.parent


def _chain(error: BaseException | None) -> list[BaseException]:
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


OUTCOMES: dict[str, int] = {}  # outcome -> cases, for looking at what a run covered


def check(case: Case, tmp: Path, backend: str = "cpu") -> str:
    """Runs one case in folder `tmp` (removed afterwards); returns 'ok' or the TfglError's class name;
    raises AssertionError, describing the mutations, for anything else."""
    try:
        outcome = _check(case, tmp, backend)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1
    return outcome


def _check(case: Case, tmp: Path, backend: str) -> str:
    try:
        return run_case(case, tmp, backend)
    except (AssertionError, CaseTimeout, Exception) as error:  # anything but a TfglError fails the case
        raise AssertionError(f"{case.fixture} via {case.loader} on {backend}, after:\n  " + "\n  ".join(case.done)
                             + f"\nraised {type(error).__name__}: {str(error)[:500]}") from error


# -- the properties -----------------------------------------------------------------------------

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False, report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture
def case_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


_COUNTER = [0]


def _fresh(case_dir: Path) -> Path:
    _COUNTER[0] += 1
    return case_dir / f"case{_COUNTER[0]}"


@settings(FUZZ, max_examples=max(1, int(120 * SCALE)))
@given(st.data())
def test_mutated_graph_model_json(case_dir, data):
    c = Chooser(data)
    check(make_case(c.choice(GRAPH_MODELS), c, ("json",)), _fresh(case_dir))


@settings(FUZZ, max_examples=max(1, int(80 * SCALE)))
@given(st.data())
def test_mutated_layers_model_json(case_dir, data):
    c = Chooser(data)
    check(make_case(c.choice(LAYERS_MODELS), c, ("json",)), _fresh(case_dir))


@settings(FUZZ, max_examples=max(1, int(60 * SCALE)))
@given(st.data())
def test_mutated_shards_and_files(case_dir, data):
    c = Chooser(data)
    check(make_case(c.choice(GRAPH_MODELS + LAYERS_MODELS), c, ("shard", "raw")), _fresh(case_dir))


@settings(FUZZ, max_examples=max(1, int(40 * SCALE)))
@given(st.data())
def test_mutated_models_on_webgl(case_dir, webgl, data):
    c = Chooser(data)
    check(make_case(c.choice(["small_cnn", "lstm_cf1", "loop_cf1", "layers_cnn", "layers_mlp_k3_split"]), c,
                    ("json", "json", "shard")), _fresh(case_dir), webgl)


def test_flipped_weight_bytes_still_give_a_result(tmp_path):
    """Any float32 weight bytes are valid values (NaN and Inf included): the model still runs."""
    files = dict(original_files("small_cnn"))
    shard = bytearray(files["group1-shard1of1.bin"])
    manifest = json.loads(files["model.json"])["weightsManifest"][0]["weights"]
    offset = 0
    for entry in manifest:  # every float weight gets a NaN, an Inf and a garbage value
        size = math.prod(entry["shape"]) * 4
        if entry["dtype"] == "float32" and size >= 12:
            shard[offset:offset + 12] = np.array([np.nan, np.inf, -3e38], "<f4").tobytes()
        offset += size
    files["group1-shard1of1.bin"] = bytes(shard)
    assert check(Case("small_cnn", files, ["float weights' first bytes replaced"]), tmp_path) == "ok"


# -- exploratory runs ---------------------------------------------------------------------------

def explore(count: int, seed: int = 0, backend: str = "cpu", fixtures: list[str] | None = None) -> None:
    """`python -m tests.test_fuzz N [SEED [BACKEND [FIXTURE,...]]]`: N random cases (not hypothesis's:
    uniform choices, nothing shrunk); prints every outcome that is not a TfglError, and a tally."""
    import tempfile
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            c = Chooser(rng=rng)
            fixture = c.choice(fixtures or GRAPH_MODELS + LAYERS_MODELS)
            case = make_case(fixture, c, ("json", "json", "json", "shard", "raw"))
            try:
                outcome = check(case, Path(tmp) / f"case{i}", backend)
            except AssertionError as error:
                print(f"--- case {i}: {error}\n    at {_origin(error)}", flush=True)
                outcome = "FAIL"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(outcomes)


def _origin(error: BaseException) -> str:
    """Where the innermost error of a chain was raised (the last frames inside the project)."""
    chain = _chain(error)
    frames = [f for e in chain[::-1] for f in traceback.extract_tb(e.__traceback__)
              if "/site-packages/" not in f.filename and not f.filename.endswith("test_fuzz.py")][-3:]
    return " <- ".join(f"{os.path.relpath(f.filename)}:{f.lineno} {f.name}" for f in frames[::-1])


if __name__ == "__main__":
    explore(int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 0,
            sys.argv[3] if len(sys.argv) > 3 else "cpu", sys.argv[4].split(",") if len(sys.argv) > 4 else None)
