"""Arithmetic ops against tf.raw_ops: broadcasting, dtypes, empty tensors, NaN/Inf."""
import numpy as np
import pytest

import engine
from engine.errors import KernelError
from tests.kernels.harness import assert_rejects, check, gpu_ints, rand, run_engine, run_on_gpu, to_tensor

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
    # integer powers need negative checks the GL kernel leaves to the CPU
    check(backend, op, [a, b], allow_fallback=op == "Pow")


INT_DIVISIONS = ["FloorDiv", "FloorMod", "Mod", "Div"]


def int_division_operands(rng):
    """Every sign combination, remainders of both signs and none, and magnitudes up to 2**24 - 1 (the
    largest float32 texels hold exactly), broadcasting a column of divisors over a row."""
    edge = 2**24 - 1
    a = np.concatenate([rng.integers(-edge, edge + 1, 200), np.arange(-12, 13), [edge, -edge]]).astype(np.int32)
    b = np.concatenate([rng.integers(-edge, edge + 1, 6), [1, -1, 2, -2, 7, -7, 12, -13, edge, -edge]])
    return a, b[b != 0].astype(np.int32).reshape(-1, 1)


@pytest.mark.parametrize("op", INT_DIVISIONS)
def test_integer_division_is_exact(backend, rng, op):
    """The GL kernels divide int32 on the GPU, bit-identical to the CPU kernel and TensorFlow."""
    a, b = int_division_operands(rng)
    got = run_on_gpu(backend, op, [a, b])[0]
    np.testing.assert_array_equal(got, run_engine("cpu", op, [a, b])[0])
    check(backend, op, [a, b])


@pytest.mark.parametrize("op", INT_DIVISIONS)
def test_integer_division_by_zero_is_an_error(backend, op):
    assert_rejects(backend, op, [np.array([4, -3, 5], np.int32), np.array([2, 0, 1], np.int32)],
                   match="Integer division by zero")


@pytest.mark.parametrize("op", INT_DIVISIONS)
def test_integer_divisor_on_the_gpu_runs_the_cpu_kernel(webgl, op):
    """Zeros in a divisor the CPU never saw cannot be checked on the GPU: the CPU kernel runs (and raises)."""
    impl = engine.get_backend("webgl")
    a = to_tensor(np.arange(-6, 6, dtype=np.int32))
    before = impl.stats.cpu_fallbacks.get(op, 0)
    got = impl.run(op, [a, gpu_ints(impl, [3])])[0].numpy()
    np.testing.assert_array_equal(got, run_engine("cpu", op, [a.numpy(), np.array([3], np.int32)])[0])
    assert impl.stats.cpu_fallbacks.get(op, 0) == before + 1
    with pytest.raises(KernelError, match="Integer division by zero"):
        impl.run(op, [a, gpu_ints(impl, [0])])


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
