"""tfgl's pytest plugin (entry point `tfgl`): test a TF.js model in your own repository on every tfgl
backend, against output snapshots kept beside the tests.

    def test_outputs_stable(tfgl_load, tfgl_regression):
        model = tfgl_load("web_model/model.json")        # on this test's backend
        tfgl_regression.check(model.predict(x), rtol=1e-4)

A test that asks for `tfgl_backend`, `tfgl_load` or `tfgl_regression` runs once per backend of
`--tfgl-backends` (default: every backend this machine has, webgl-fp16 included: a phone's half-float
storage, engine/webgl/half_float.py). On a GL backend the fixture fails the
test if the GL context holds an error before it or after it. Snapshots are .npz files in
`__snapshots__/<test module>/<test>.npz` beside the test file, one per test for all its backends:
`--tfgl-regen` writes them from the reference backend (cpu where selected, else the first one), whose
run is ordered first, and the other backends are then checked against what it wrote.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest

import engine

SNAPSHOTS = "__snapshots__"
GL_BACKENDS = ("webgl", "webgl-fp16")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfgl", "tfgl model tests")
    group.addoption("--tfgl-backends", default=None, metavar="NAMES",
                    help="comma-separated tfgl backends to run model tests on, e.g. webgl,cpu,webgl-fp16 "
                         "(default: every available one)")
    group.addoption("--tfgl-regen", action="store_true",
                    help="write the .npz snapshots that tfgl_regression.check compares against")


_BACKENDS = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("tfgl_backends") is not None:
        selected_backends(config)  # a wrong name is a usage error before collection


def selected_backends(config: pytest.Config) -> list[str]:
    """The backends of --tfgl-backends, reference backend first (the one that writes snapshots);
    found once per session, when first needed (a GL context is made only then)."""
    if _BACKENDS not in config.stash:
        available = engine.available_backends(fp16=True)
        option = config.getoption("tfgl_backends")
        names = available if option is None else [n.strip() for n in option.split(",") if n.strip()]
        for name in names:
            if name not in available:
                raise pytest.UsageError(f"--tfgl-backends: {name!r} is not available on this machine "
                                        f"(available: {', '.join(available)})")
        if not names:
            raise pytest.UsageError("--tfgl-backends: name at least one backend")
        reference = "cpu" if "cpu" in names else names[0]
        config.stash[_BACKENDS] = [reference] + [n for n in dict.fromkeys(names) if n != reference]
    return config.stash[_BACKENDS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tfgl_backend" in metafunc.fixturenames:
        backends = selected_backends(metafunc.config)
        metafunc.parametrize("tfgl_backend", backends, indirect=True, ids=backends)


def _check_gl(backend: str, where: str) -> None:
    if backend in GL_BACKENDS:
        try:
            engine.backends.webgl.check_thread_error(where, half=True if backend == "webgl-fp16" else None)
        except engine.errors.GLError as error:
            pytest.fail(str(error), pytrace=False)


@pytest.fixture
def tfgl_backend(request: pytest.FixtureRequest):
    """The name of this test's backend; the GL context holds no error before the test or after it."""
    name = request.param
    _check_gl(name, f"the tests before {request.node.nodeid}")
    yield name
    _check_gl(name, request.node.nodeid)


@pytest.fixture
def tfgl_load(tfgl_backend: str, request: pytest.FixtureRequest) -> Callable:
    """load(path_or_url, **kwargs): engine.load_model on this test's backend; a relative path is
    taken from the test file's folder."""
    folder = Path(request.node.path).parent

    def load(location: str | os.PathLike, **kwargs):
        location = os.fspath(location)
        if "://" not in location and not os.path.isabs(location):
            location = os.fspath(folder / location)
        return engine.load_model(location, backend=tfgl_backend, **kwargs)

    return load


@pytest.fixture
def tfgl_regression(tfgl_backend: str, request: pytest.FixtureRequest) -> Regression:
    """Checks outputs against this test's .npz snapshot (see the module's docstring)."""
    backends = selected_backends(request.config)
    return Regression(snapshot_path(request.node, tfgl_backend), tfgl_backend,
                      writes=request.config.getoption("tfgl_regen") and tfgl_backend == backends[0])


def snapshot_path(node: pytest.Item, backend: str) -> Path:
    """__snapshots__/<module>/<test name, without the backend's id>.npz beside the test file."""
    name = re.sub(rf"(?<=[\[-]){re.escape(backend)}(-|(?=\]))", "", node.name).replace("[]", "")
    name = re.sub(r"[^\w.\[\]-]", "_", name)
    path = Path(node.path)
    return path.parent / SNAPSHOTS / path.stem / f"{name}.npz"


class Regression:
    """One test's snapshot: the outputs of each check() in order, written under --tfgl-regen by the
    reference backend, compared on every other run."""

    def __init__(self, path: Path, backend: str, writes: bool):
        self.path, self.backend, self.writes = path, backend, writes
        self.checks = 0
        self.written: dict[str, np.ndarray] = {}

    def check(self, outputs, *, rtol: float = 1e-4, atol: float = 1e-5) -> None:
        """Compares `outputs` (an array, a list of them, or a dict by output name) with the snapshot:
        floats within atol + rtol * |expected| with NaN and infinities where the snapshot has them,
        other dtypes exactly."""
        arrays = named_arrays(outputs)
        prefix = f"{self.checks}/"
        self.checks += 1
        if self.writes:
            self.written.update({prefix + name: value for name, value in arrays.items()})
            write_npz(self.path, self.written)
            return
        if not self.path.exists():
            pytest.fail(f"no snapshot {self.path} for this test: write it with `pytest --tfgl-regen` "
                        f"(from the reference backend), then commit it", pytrace=False)
        with np.load(self.path, allow_pickle=False) as stored:
            expected = {key[len(prefix):]: stored[key] for key in stored.files if key.startswith(prefix)}
        if not expected:
            pytest.fail(f"{self.path} has no outputs for check #{self.checks} of this test: "
                        f"rewrite it with `pytest --tfgl-regen`", pytrace=False)
        problem = compare(arrays, expected, rtol, atol)
        if problem:
            pytest.fail(f"{problem}\n(on {self.backend}, check #{self.checks}, snapshot {self.path})", pytrace=False)


def named_arrays(outputs) -> dict[str, np.ndarray]:
    if isinstance(outputs, Mapping):
        items = outputs.items()
    elif isinstance(outputs, (list, tuple)):
        items = ((f"output_{i}", value) for i, value in enumerate(outputs))
    else:
        items = [("output", outputs)]
    arrays = {}
    for name, value in items:
        array = np.asarray(value)
        if array.dtype == object:  # strings as bytes: .npz files hold no pickles
            array = np.array([v if isinstance(v, bytes) else str(v).encode() for v in array.reshape(-1)],
                             dtype=bytes).reshape(array.shape)
        arrays[str(name)] = array
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """All or nothing: a crash mid-write leaves the previous snapshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def compare(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], rtol: float, atol: float) -> str | None:
    """None if every output matches, else a message on the first that doesn't: its worst element,
    where it is, both values and the error."""
    if set(actual) != set(expected):
        return f"outputs {sorted(actual)} but the snapshot has {sorted(expected)}"
    for name, want in expected.items():
        got = actual[name]
        if got.shape != want.shape:
            return f"output {name!r}: shape {list(got.shape)}, snapshot {list(want.shape)}"
        if got.dtype.kind != want.dtype.kind:
            return f"output {name!r}: dtype {got.dtype}, snapshot {want.dtype}"
        problem = (_compare_floats if want.dtype.kind in "fc" else _compare_exact)(name, got, want, rtol, atol)
        if problem:
            return problem
    return None


def _compare_exact(name: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    wrong = got != want
    if not wrong.any():
        return None
    index = np.unravel_index(int(np.argmax(wrong)), want.shape)
    return (f"output {name!r}: {int(wrong.sum())} of {want.size} elements differ; the first at index "
            f"{tuple(int(i) for i in index)}: got {got[index].item()!r}, snapshot {want[index].item()!r}")


def _compare_floats(name: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    wide = np.complex128 if want.dtype.kind == "c" else np.float64
    got64, want64 = got.astype(wide), want.astype(wide)
    with np.errstate(invalid="ignore"):  # inf - inf: non-finite values are compared apart
        error = np.abs(got64 - want64)
    allowed = atol + rtol * np.abs(want64)
    finite = np.isfinite(want64)
    # Non-finite values must match exactly (NaN where NaN, the same infinity); they rank worst.
    mismatched = np.where(finite, ~(error <= allowed), ~((got64 == want64) | (np.isnan(got64) & np.isnan(want64))))
    if not mismatched.any():
        return None
    excess = np.where(mismatched, np.where(finite & np.isfinite(error), error - allowed, np.inf), -np.inf)
    index = np.unravel_index(int(np.argmax(excess)), want.shape)
    index = tuple(int(i) for i in index)
    worst_error = error[index]
    relative = worst_error / abs(want64[index]) if want64[index] != 0 else np.inf
    return (f"output {name!r}: {int(mismatched.sum())} of {want.size} elements out of tolerance "
            f"(rtol={rtol:g}, atol={atol:g}); the worst at index {index}: got {_number(got[index])}, snapshot "
            f"{_number(want[index])}, abs error {worst_error:.6g}, rel error {relative:.6g}")


def _number(value: np.generic) -> str:
    """A float as its own precision prints it (float32: 9 significant digits), no numpy repr."""
    digits = 9 if np.finfo(value.dtype).bits <= 32 else 17
    return f"{value.item():.{digits}g}"
