"""engine/kernels/cpu/allocator.py: glibc's thresholds are set once, in a fresh process (the setting
is process-wide), and left alone where the user set MALLOC_* or TFGL_CPU_MALLOC=0. Needs glibc (Linux,
as CI)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = ("from engine.kernels.cpu import allocator; import numpy as np; import engine; "
          "m = engine.get_backend('cpu'); first = allocator.tune_once(); second = allocator.tune_once(); "
          "print(first, second)")


def _run(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "TFGL_CPU_MALLOC"}
    environment.update(env, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", SCRIPT], env=environment, capture_output=True, text=True,
                          check=True, timeout=120).stdout.split()


def test_thresholds_are_set_once_unless_the_user_chose():
    assert _run() == ["True", "False"]
    assert _run(TFGL_CPU_MALLOC="0") == ["False", "False"]
    assert _run(MALLOC_ARENA_MAX="2") == ["False", "False"]


def test_a_model_run_sets_them():
    script = ("import numpy as np, engine; from engine.kernels.cpu import allocator; "
              "engine.get_backend('cpu'); assert not allocator._done; "
              "import engine.graph.model as gm; from engine.io import parse_model_json; "
              "data = {'format': 'graph-model', 'weightsManifest': [], 'modelTopology': {'node': ["
              "{'name': 'x', 'op': 'Placeholder', 'attr': {'dtype': {'type': 'DT_FLOAT'}}},"
              "{'name': 'y', 'op': 'Relu', 'input': ['x'], 'attr': {'T': {'type': 'DT_FLOAT'}}}]}}; "
              "m = gm.GraphModel(parse_model_json(data, '.'), {}, 'cpu'); m.predict(np.ones(2, np.float32)); "
              "print(allocator._done)")
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True,
                         text=True, check=True, timeout=120).stdout.split()
    assert out == ["True"]
