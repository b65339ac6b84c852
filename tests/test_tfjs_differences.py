"""Where TensorFlow and TF.js compute different things for inputs a graph can produce, tfgl follows
TensorFlow: each case against tf.raw_ops on every backend. TF.js's own result is recorded beside it
(and, with node and @tensorflow/tfjs, recomputed: the `node` test), and README.md's table "Where
TF.js and TensorFlow differ" lists every case."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from engine.errors import KernelError
from tests.kernels.harness import assert_close, check, run_engine, run_tf, tf

NAN, INF = math.nan, math.inf
README = Path(__file__).parents[1] / "README.md"


@dataclass(frozen=True)
class Difference:
    title: str                  # the README table's first column
    op: str
    inputs: tuple
    tfjs_call: str              # what TF.js's graph executor calls for the op, on tensors x[0], x[1], ...
    tfjs: tuple[str, list]      # TF.js 4.22's result on its CPU backend: (dtype, values)
    attrs: dict = field(default_factory=dict)
    tf_error: str | None = None   # TensorFlow refuses the inputs with this message


def _f32(*values) -> np.ndarray:
    return np.array(values, np.float32)


def _i32(*values) -> np.ndarray:
    return np.array(values, np.int32)


_SCALARS = "x[0].arraySync(), x[1].arraySync(), x[2].arraySync()"
CASES = [
    Difference("`Sign(NaN)`", "Sign", (_f32(NAN, -2, 0, 3),), "tf.sign(x[0])", ("float32", [0, -1, 0, 1])),
    Difference("`Mean` of int32", "Mean", (_i32(1, 2, -1, -2).reshape(2, 2), _i32(1)), "tf.mean(x[0], 1)",
               ("float32", [1.5, -1.5])),
    Difference("`Mean` over an empty axis", "Mean", (np.zeros((2, 0), np.float32), _i32(1)), "tf.mean(x[0], 1)",
               ("float32", [0, 0])),
    Difference("`Max` over an empty axis", "Max", (np.zeros((2, 0), np.float32), _i32(1)), "tf.max(x[0], 1)",
               ("float32", [NAN, NAN])),
    Difference("`Unique` with NaNs", "Unique", (_f32(NAN, 1, NAN, 1),), "tf.unique(x[0]).values",
               ("float32", [NAN, 1])),
    Difference("`Range` with a delta away from the limit", "Range", (np.int32(0), np.int32(5), np.int32(-1)),
               f"tf.range({_SCALARS}, 'int32')", ("int32", []), tf_error="Requires start >= limit when delta < 0"),
    Difference("`Range` down with delta 1", "Range", (np.float32(5), np.float32(0), np.float32(1)),
               f"tf.range({_SCALARS})", ("float32", [5, 4, 3, 2, 1]),
               tf_error="Requires start <= limit when delta > 0"),
    Difference("`Div` of int32", "Div", (_i32(-7, 7), _i32(2, -2)), "tf.div(x[0], x[1])", ("int32", [-4, -4])),
    Difference("`FloorDiv` of floats", "FloorDiv", (_f32(-7.5, 1), _f32(2, 0)), "tf.floorDiv(x[0], x[1])",
               ("int32", [-4, 0])),
    Difference("`FloorDiv` of int32 by 0", "FloorDiv", (_i32(7), _i32(0)), "tf.floorDiv(x[0], x[1])",
               ("int32", [0]), tf_error="Integer division by zero"),
    Difference("`Cast` of NaN or out-of-range floats to int32", "Cast", (_f32(NAN, 3e9, -3e9, 2.7),),
               "tf.cast(x[0], 'int32')", ("int32", [0, -1294967296, 1294967296, 2]), attrs={"DstT": "int32"}),
    Difference("`Pow` of int32 to a negative power", "Pow", (_i32(2), _i32(-1)), "tf.pow(x[0], x[1])",
               ("int32", [0]), tf_error="Integers to negative integer powers are not allowed"),
]
IDS = [re.sub(r"\W+", "_", case.title).strip("_") for case in CASES]


@pytest.mark.tf
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_tfgl_follows_tensorflow(case, backend):
    if case.tf_error is None:
        check(backend, case.op, list(case.inputs), case.attrs)
        return
    with pytest.raises(tf().errors.InvalidArgumentError, match=re.escape(case.tf_error)):
        run_tf(case.op, list(case.inputs), case.attrs)
    with pytest.raises(KernelError, match="(?i)" + re.escape(case.tf_error)):
        run_engine(backend, case.op, list(case.inputs), case.attrs)


@pytest.mark.tf
@pytest.mark.parametrize("case", [c for c in CASES if c.tf_error is None],
                         ids=[i for i, c in zip(IDS, CASES) if c.tf_error is None])
def test_tfjs_value_recorded_differs_from_tensorflows(case):
    """Each row is a real difference: the recorded TF.js result is not TensorFlow's (where TensorFlow
    refuses the inputs, the node test shows TF.js computes a value)."""
    want = run_tf(case.op, list(case.inputs), case.attrs)[0]
    dtype, values = case.tfjs
    recorded = np.array(values, dtype).reshape(-1)
    assert dtype != want.dtype.name or recorded.shape != want.reshape(-1).shape or \
        not np.array_equal(recorded, want.reshape(-1), equal_nan=True), case.title


def test_readme_lists_every_case():
    table = README.read_text().split("## Where TF.js and TensorFlow differ", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert sorted(row.split(" | ")[0][2:] for row in rows) == sorted(case.title for case in CASES)


_NODE_SCRIPT = """
const tf = require('@tensorflow/tfjs');
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
tf.setBackend('cpu').then(() => {
  const results = cases.map(({call, inputs}) => {
    const x = inputs.map(({values, shape, dtype}) => tf.tensor(values.map(Number), shape, dtype));
    try {
      const y = eval(call);
      return {dtype: y.dtype, values: Array.from(y.dataSync()).map(String)};
    } catch (error) {
      return {error: error.message};
    }
  });
  process.stdout.write(JSON.stringify(results));
});
"""


@pytest.mark.node
def test_tfjs_computes_what_the_table_records():
    """Runs every case's TF.js call in node on @tensorflow/tfjs's CPU backend."""
    from tests.real import npm
    cases = [{"call": case.tfjs_call,
              "inputs": [{"values": [str(v) for v in np.asarray(x).reshape(-1).tolist()], "shape": list(np.shape(x)),
                          "dtype": np.asarray(x).dtype.name} for x in case.inputs]} for case in CASES]
    result = subprocess.run(["node", "-e", _NODE_SCRIPT], input=json.dumps(cases), capture_output=True, text=True,
                            env=dict(os.environ, NODE_PATH=str(npm.tfjs_dir() / "node_modules")),
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    for case, got in zip(CASES, json.loads(result.stdout)):
        assert "error" not in got, (case.title, got)
        dtype, values = case.tfjs
        assert got["dtype"] == dtype, case.title
        assert_close(np.array([float(v) for v in got["values"]], dtype), np.array(values, dtype), what=case.title)
