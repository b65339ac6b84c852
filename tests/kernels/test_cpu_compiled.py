"""The compiled CPU kernels (engine.kernels.cpu.compiled, tfgl[fast-cpu]): they are what runs when
numba is there, they give the numpy path's results (the resize its very bits), and without numba
(or with TFGL_CPU_COMPILED=0) the backend runs on numpy alone and never imports numba. Like
test_ray.py these need their extra (CI installs .[all]). The conformance tests of
test_convolution.py, test_cpu_fast_paths.py, test_cpu_parallel.py and test_dynamic.py run both
ways (conftest.py)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from engine.kernels.cpu import compiled, convolution, dynamic, image
from tests.kernels.harness import rand

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _both_ways(monkeypatch, kernel, *args, **attrs):
    """The kernel's result compiled and in numpy."""
    compiled.kernels()  # imported, as a model's convolutions would: some kernels wait for that
    monkeypatch.setattr(compiled, "ENABLED", True)
    fast = kernel(*args, **attrs)
    monkeypatch.setattr(compiled, "ENABLED", False)
    return fast, kernel(*args, **attrs)


# x shape, filter shape, strides, dilations, padding, fused ops
CASES = [
    ((2, 13, 11, 37), (3, 3, 37, 1), (1, 1), (1, 1), "SAME", ["BiasAdd", "Relu6"]),   # channels past a vector
    ((1, 12, 14, 20), (3, 3, 20, 1), (2, 2), (2, 1), "SAME", ["BiasAdd", "Prelu"]),
    ((1, 9, 10, 6), (5, 5, 6, 2), (2, 1), (1, 1), "VALID", ["FusedBatchNorm", "LeakyRelu"]),  # not 3x3
    ((1, 4, 3, 8), (3, 3, 8, 1), (3, 3), (1, 1), "SAME", ["BiasAdd", "Relu"]),          # narrower than a window
    ((1, 10, 9, 12), (3, 3, 12, 1), (1, 1), (1, 1), "SAME", ["BiasAdd", "Sigmoid"]),    # numpy's epilogue after
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_depthwise_matches_numpy(monkeypatch, rng, case, dtype):
    x_shape, w_shape, strides, dilations, padding, fused_ops = case
    channels = w_shape[2] * w_shape[3]
    count = {"BiasAdd": 1, "Prelu": 1, "FusedBatchNorm": 4}
    args = [rand(rng, (channels,)).astype(dtype) for op in fused_ops for _ in range(count.get(op, 0))]
    if "FusedBatchNorm" in fused_ops:
        args[3] = np.abs(args[3]) + 0.5  # a variance
    x, w = rand(rng, x_shape).astype(dtype), rand(rng, w_shape).astype(dtype)
    fast, slow = _both_ways(monkeypatch, convolution.fused_depthwise_conv2d, x, w, *args,
                            strides=[1, *strides, 1], dilations=[1, *dilations, 1], padding=padding,
                            fused_ops=fused_ops, leakyrelu_alpha=0.3)
    assert fast.dtype == slow.dtype == dtype
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)


def test_compiled_kernels_run_when_enabled(monkeypatch, rng):
    kernels = compiled.kernels()
    calls = []
    for name in ("depthwise_rows", "epilogue_rows"):
        original = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _name=name, _original=original: (calls.append(_name),
                                                                                          _original(*a)))
    monkeypatch.setattr(compiled, "ENABLED", True)
    bias = rand(rng, (8,))
    attrs = {"strides": [1, 1, 1, 1], "padding": "SAME", "fused_ops": ["BiasAdd", "Relu6"]}
    convolution.fused_depthwise_conv2d(rand(rng, (1, 6, 6, 8)), rand(rng, (3, 3, 8, 1)), bias, **attrs)
    convolution.fused_conv2d(rand(rng, (1, 6, 6, 4)), rand(rng, (1, 1, 4, 8)), bias, **attrs)
    assert calls == ["depthwise_rows", "epilogue_rows"]


def test_epilogue_args_worked_out_once_per_layer(rng):
    bias = rand(rng, (5,))
    fused = convolution.Fused(["BiasAdd", "Relu"], [bias])
    first = compiled.Epilogue.of(fused, 5, np.float32)
    assert compiled.Epilogue.of(convolution.Fused(["BiasAdd", "Relu"], [bias]), 5, np.float32) is first
    assert compiled.Epilogue.of(convolution.Fused(["BiasAdd", "Relu"], [bias.copy()]), 5, np.float32) is not first
    residual = convolution.Fused(["BiasAdd", "Add", "Relu"], [bias, rand(rng, (1, 2, 2, 5))])
    assert compiled.Epilogue.of(residual, 5, np.float32) is None  # numpy's epilogue follows
    with pytest.raises(ValueError, match="unsupported fused activation"):
        compiled.Epilogue.of(convolution.Fused(["BiasAdd", "Swish?"], [bias]), 5, np.float32)


_PROBE = """
import json, sys
{block}
import numpy as np
import engine
from engine.kernels.cpu import compiled, convolution
at_import = sys.modules.get("numba") is not None
x = np.ones((1, 5, 5, 3), np.float32)
y = convolution.fused_depthwise_conv2d(x, np.ones((3, 3, 3, 1), np.float32), np.zeros(3, np.float32),
                                       strides=[1, 1, 1, 1], padding="SAME", fused_ops=["BiasAdd", "Relu"])
cache = None
if compiled.ENABLED:
    from engine.kernels.cpu import numba_kernels
    cache = numba_kernels.depthwise_rows._cache._cache_path
print(json.dumps({{"enabled": compiled.ENABLED, "numba": sys.modules.get("numba") is not None,
                  "at_import": at_import, "centre": float(y[0, 2, 2, 0]), "cache": cache}}))
"""


def _probe(env: dict, block: str = "") -> dict:
    environment = {**os.environ, "PYTHONPATH": ROOT}
    for name in ("NUMBA_CACHE_DIR", compiled.SWITCH_VARIABLE):  # the probe's own, not this run's
        environment.pop(name, None)
    environment.update(env)
    result = subprocess.run([sys.executable, "-c", _PROBE.format(block=block)], capture_output=True, text=True,
                            env=environment, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_numpy_alone_without_numba():
    """`import engine` and the CPU convolutions never need numba."""
    got = _probe({}, block="sys.modules['numba'] = None  # as if it were not installed")
    assert got == {"enabled": False, "numba": False, "at_import": False, "centre": 9.0, "cache": None}


def test_switched_off(tmp_path):
    got = _probe({"TFGL_CPU_COMPILED": "0", "TFGL_CACHE": str(tmp_path)})
    assert got == {"enabled": False, "numba": False, "at_import": False, "centre": 9.0, "cache": None}


@pytest.mark.slow  # compiles the depthwise kernel from scratch: 3 to 10 s
def test_machine_code_cached_under_tfgl_cache(tmp_path):
    got = _probe({"TFGL_CACHE": str(tmp_path)})
    assert got["enabled"] and got["numba"] and got["centre"] == 9.0
    assert not got["at_import"]  # numba comes with the first convolution, not with `import engine`
    assert got["cache"].startswith(str(tmp_path / "numba"))
    assert any((tmp_path / "numba").rglob("*.nbi"))  # numba's index of what it compiled


@pytest.mark.parametrize("size", [(9, 14), (3, 5), (1, 1)], ids=str)
@pytest.mark.parametrize("corners", [(False, False), (True, False), (False, True)], ids=str)
def test_resize_bilinear_same_bits_as_numpy(monkeypatch, rng, size, corners):
    """The compiled resize computes TensorFlow's float32 expressions in numpy's order: equal bits,
    NaN and infinities included."""
    images = rand(rng, (2, 6, 7, 5), specials=True).astype(np.float64)  # float64 in: both read float32
    align_corners, half_pixel_centers = corners
    with np.errstate(invalid="ignore"):  # numpy's path on inf - inf
        fast, slow = _both_ways(monkeypatch, image.resize_bilinear, images, np.array(size, np.int32),
                                align_corners=align_corners, half_pixel_centers=half_pixel_centers)
    assert fast.dtype == slow.dtype == np.float32
    np.testing.assert_array_equal(fast, slow)


def test_a_numba_that_fails_to_import_turns_them_off():
    """numba is there but breaks on import (built for another numpy, say): a warning, then numpy."""
    block = ("import importlib.abc, importlib.machinery\n"
             "class Broken(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
             "    def find_spec(self, name, path, target=None):\n"
             "        return importlib.machinery.ModuleSpec(name, self) if name == 'numba' else None\n"
             "    def create_module(self, spec):\n"
             "        return None\n"
             "    def exec_module(self, module):\n"
             "        raise ImportError('Numba needs NumPy 1.0 or less')\n"
             "sys.meta_path.insert(0, Broken())\n"
             "import warnings\n"
             "warnings.simplefilter('error')\n"
             "try:\n"
             "    import engine.kernels.cpu.compiled as c\n"
             "    c.handles('float32')\n"
             "except RuntimeWarning as warning:\n"
             "    assert 'importing numba failed' in str(warning) and 'NumPy 1.0' in str(warning), warning\n"
             "else:\n"
             "    raise AssertionError('no warning')\n"
             "warnings.simplefilter('default')\n")
    got = _probe({}, block=block)
    assert got == {"enabled": False, "numba": False, "at_import": False, "centre": 9.0, "cache": None}


# Box corners and scores: specials, signed zeros and a few repeated values (ties, duplicated and
# zero-area boxes) among floats that make boxes overlap.
_CORNERS = st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0, 3.4e38, np.nan, np.inf, -np.inf]) | st.floats(-1, 3, width=32)
_SCORES = st.sampled_from([0.0, -0.0, 0.5, 1.0, np.nan, np.inf, -np.inf]) | st.floats(-1, 1, width=32)
_LOWEST = float(np.finfo(np.float32).min)  # NonMaxSuppressionV2's threshold


def _hard_nms_both_ways(boxes, scores, max_output_size, iou_threshold, score_threshold):
    """The indices and scores hard NMS selects, compiled and in numpy."""
    results = []
    compiled.kernels()
    with pytest.MonkeyPatch.context() as patch, np.errstate(invalid="ignore", over="ignore"):
        for enabled in (True, False):
            patch.setattr(compiled, "ENABLED", enabled)
            results.append(dynamic._non_max_suppression(boxes, scores, np.int32(max_output_size),
                                                        np.float32(iou_threshold), np.float32(score_threshold)))
    return results


@settings(derandomize=True, database=None, deadline=None, max_examples=300)
@given(st.data())
def test_hard_nms_same_selection_as_numpy(data):
    """Any boxes and scores, NaN, infinities and empty inputs included: the compiled loop selects the
    numpy path's boxes in the same order (the numpy path is TensorFlow's, test_dynamic.py)."""
    count = data.draw(st.integers(0, 40))
    boxes = data.draw(arrays(np.float32, (count, 4), elements=_CORNERS))
    scores = data.draw(arrays(np.float32, count, elements=_SCORES))
    max_output_size = data.draw(st.integers(0, count + 2))
    iou_threshold = data.draw(st.sampled_from([0.0, 1.0]) | st.floats(0, 1, width=32))
    score_threshold = data.draw(st.sampled_from([_LOWEST, -np.inf, 0.0, np.nan]) | st.floats(-1, 1, width=32))
    (fast, fast_scores), (slow, slow_scores) = _hard_nms_both_ways(boxes, scores, max_output_size, iou_threshold,
                                                                   score_threshold)
    assert fast.dtype == slow.dtype
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_scores, slow_scores)


@pytest.mark.parametrize("max_output_size", [2, 100, 5000])
@pytest.mark.parametrize("iou_threshold", [0.0, 0.5, 1.0])
def test_hard_nms_many_boxes_same_selection_as_numpy(monkeypatch, rng, max_output_size, iou_threshold):
    """Thousands of overlapping boxes with tied scores, a few specials and zero-area boxes: the
    compiled loop sorts candidates a chunk at a time, from a sample of the scores, until NMS stops
    (at IOU threshold 0, after thousands of candidates)."""
    count = 6000
    corners = rng.integers(0, 24, (count, 2)) / 4
    boxes = np.concatenate([corners, corners + rng.integers(1, 12, (count, 2)) / 4], axis=1).astype(np.float32)
    flipped = rng.random(count) < 0.3
    boxes[flipped] = boxes[flipped][:, [2, 3, 0, 1]]
    thin = rng.random(count) < 0.005
    boxes[thin, 2] = boxes[thin, 0]
    specials = np.flatnonzero(rng.random(count) < 0.01)
    boxes[specials, rng.integers(0, 4, specials.size)] = rng.choice([np.nan, np.inf, -np.inf], specials.size)
    scores = np.round(rng.random(count), 2).astype(np.float32)
    scores[rng.random(count) < 0.01] = np.nan
    calls = []
    original = compiled.kernels().hard_nms
    monkeypatch.setattr(compiled.kernels(), "hard_nms", lambda *args: (calls.append(args), original(*args))[1])
    for laid_out, score_threshold in ((boxes, _LOWEST), (np.asfortranarray(boxes), 0.3)):  # F: a transpose's
        (fast, _), (slow, _) = _hard_nms_both_ways(laid_out, scores, max_output_size, iou_threshold, score_threshold)
        np.testing.assert_array_equal(fast, slow)
        assert 1 <= fast.size <= max_output_size
    assert len(calls) == 2  # the compiled loop ran each time


def test_hard_nms_iou_to_the_bit(rng):
    """At an IOU threshold equal to two boxes' IOU (numpy's float32 bits) the second box stays; one
    float below, it goes: an IOU one unit in the last place off would flip one of the two."""
    boxes = rng.uniform(0, 1, (300, 2, 4)).astype(np.float32)
    boxes[..., 2:] += rng.uniform(0, 1, (300, 2, 2)).astype(np.float32)
    scores = np.array([1, 0.5], np.float32)
    checked = 0
    for pair in boxes:
        iou = dynamic._Boxes(pair).iou(np.array([0]), np.array([1]))[0, 0]
        if iou == 0:
            continue
        checked += 1
        for threshold, expected in ((iou, [0, 1]), (np.nextafter(iou, np.float32(0)), [0])):
            for selected, _ in _hard_nms_both_ways(pair, scores, 2, threshold, 0.0):
                assert selected.tolist() == expected
    assert checked > 100


def test_nms_and_resize_alone_do_not_import_numba(tmp_path):
    """A process whose only CPU kernels are NMS and ResizeBilinear (a WebGL detector's host steps and
    preprocessing) keeps numpy's: importing numba would cost its first call more than it saves. Once a
    convolution imported it, they run compiled, with the same results."""
    script = ("import sys, numpy as np, engine\nfrom engine.kernels.cpu import compiled, dynamic, image\n"
              "boxes = np.random.default_rng(0).uniform(0, 1, (50, 4)).astype(np.float32)\n"
              "scores = np.linspace(1, 0, 50, dtype=np.float32)\n"
              "def both(): return (dynamic.non_max_suppression_v3(boxes, scores, 10, 0.5, 0.0),\n"
              "                    image.resize_bilinear(boxes.reshape(1, 10, 5, 4), np.array([7, 9], np.int32)))\n"
              "first = both()\n"
              "alone = 'numba' in sys.modules\n"
              "from engine.kernels.cpu import convolution\n"
              "convolution.depthwise_conv2d(np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 2, 1), np.float32),\n"
              "                             strides=[1, 1, 1, 1], padding='SAME')\n"
              "again = both()\n"
              "print(alone, compiled.ENABLED and 'numba' in sys.modules, all(map(np.array_equal, first, again)))")
    environment = {name: value for name, value in os.environ.items() if name != compiled.SWITCH_VARIABLE}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**environment, "TFGL_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "True", "True"]
