"""Arithmetic ops against tf.raw_ops: broadcasting, dtypes, empty tensors, NaN/Inf."""
import numpy as np
import pytest

from tests.kernels.harness import check, rand

pytestmark = pytest.mark.tf

BINARY = ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "DivNoNan", "FloorDiv", "Maximum", "Minimum", "Pow",
          "SquaredDifference", "Mod", "FloorMod"]
SHAPES = [((2, 3), (2, 3)), ((4, 1, 5), (3, 1)), ((), (7,)), ((0, 3), (1, 3)), ((2, 1, 3, 1), (1, 4, 1, 5))]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_float(backend, rng, op, shapes):
    a = rand(rng, shapes[0], specials=True)
    b = rand(rng, shapes[1], low=0.5, high=3.0)
    if op == "Pow":
        a = np.abs(a)
    check(backend, op, [a, b])


@pytest.mark.parametrize("op", ["Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum", "FloorDiv", "FloorMod", "Mod",
                                "SquaredDifference", "Div", "Pow"])
def test_binary_int(backend, rng, op):
    a = rand(rng, (3, 4), "int32", -9, 9)
    b = rand(rng, (4,), "int32", 1, 5)
    if op == "Div" or op == "Pow":
        a = np.abs(a)
    # integer division and powers need zero/negative checks the GL kernels leave to the CPU
    check(backend, op, [a, b], allow_fallback=op in ("FloorDiv", "FloorMod", "Mod", "Div", "Pow"))


def test_binary_nan_inf_both_sides(backend):
    a = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0, -1.0, np.inf, 0.0], np.float32)
    b = np.array([1.0, np.inf, 2.0, 0.0, 0.0, np.nan, -np.inf, -0.0], np.float32)
    for op in ["AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "DivNoNan", "FloorDiv"]:
        check(backend, op, [a, b])


def test_add_n(backend, rng):
    xs = [rand(rng, (3, 5)) for _ in range(4)]
    check(backend, "AddN", xs)


@pytest.mark.parametrize("fmt,shape", [("NHWC", (2, 3, 4, 5)), ("NCHW", (2, 5, 3, 4)), ("NHWC", (3, 5))])
def test_bias_add(backend, rng, fmt, shape):
    check(backend, "BiasAdd", [rand(rng, shape), rand(rng, (5,))], {"data_format": fmt})


def test_string_add(backend):
    a = np.array([b"ab", b"", b"x"], dtype=object)
    b = np.array([b"c", b"d", b""], dtype=object)
    check(backend, "Add", [a, b])
