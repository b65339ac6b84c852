"""The shape of the code, checked: imports run one way (pyproject's import-linter contracts), every
module imports alone in a fresh interpreter, and format I/O and the converter never load the runtime."""
from __future__ import annotations

import json
import os
import pkgutil
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = ("engine.backends", "engine.webgl.context", "engine.graph", "engine.layers", "engine.ops", "moderngl",
           "glfw")


def _modules(package: str) -> list[str]:
    found = [package]
    for info in pkgutil.walk_packages([os.path.join(ROOT, package)], prefix=f"{package}."):
        found.append(info.name)
    return sorted(found)


def _import_alone(module: str) -> tuple[str, int, str]:
    """Imports `module` in a new interpreter; returns (module, exit code, the modules it loaded or the error)."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return module, done.returncode, done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr


@pytest.fixture(scope="module")
def imported_alone() -> dict[str, list[str]]:
    """module -> the modules a fresh interpreter holds after importing it alone (engine and converter)."""
    modules = _modules("engine") + _modules("converter")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_import_alone, modules))
    failures = [f"{module}:\n{error}" for module, code, error in results if code != 0]
    assert not failures, "modules that fail to import alone:\n" + "\n".join(failures)
    return {module: json.loads(loaded) for module, _, loaded in results}


def test_import_contracts_hold():
    linter = shutil.which("lint-imports")
    assert linter is not None, "import-linter is not installed (pip install -e '.[test]')"
    done = subprocess.run([linter, "--config", os.path.join(ROOT, "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_module_imports_alone(imported_alone):
    assert "engine.kernels.register_all" in imported_alone
    assert "converter.cli" in imported_alone
    assert len(imported_alone) > 100


def test_format_io_loads_no_kernels_or_runtime(imported_alone):
    loaded = imported_alone["engine.io"]
    assert not [m for m in loaded if m.startswith(("engine.kernels", "engine.webgl") + RUNTIME)]


def test_the_converter_never_loads_the_runtime(imported_alone):
    for module, loaded in imported_alone.items():
        if module.startswith("converter"):
            assert not [m for m in loaded if m.startswith(RUNTIME)], module


def test_importing_a_kernel_module_registers_nothing(imported_alone):
    """Kernel modules define; only engine/kernels/register_all.py registers."""
    code = ("from engine.kernels import registry; "
            "import engine.kernels.cpu.arithmetic, engine.kernels.webgl.arithmetic; "
            "print(len(registry.all_ops()))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert "engine.kernels.register_all" not in imported_alone["engine.kernels.webgl.arithmetic"]


def test_public_names_resolve_after_a_bare_import():
    code = ("import engine, numpy as np; t = engine.tensor(np.ones(3, np.float32)); "
            "print(t.add(t).numpy().tolist(), engine.load_graph_model.__module__, engine.ops.add_v2.__name__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[2.0,", "2.0,", "2.0]", "engine.graph.model", "add_v2"]
