"""_FusedElementwise (engine/kernels/cpu/elementwise_chain.py): compiled or not, a fused chain gives
what its ops give one after another through their own kernels, on every dtype, with NaN and Inf, for
the broadcasts the compiled kernel takes and for those it hands back to the unfused kernels."""
import importlib.util

import numpy as np
import pytest

from engine.errors import KernelError
from engine.kernels.cpu import compiled, elementwise_chain
from tests.kernels.harness import rand, run_engine

OP = "_FusedElementwise"  # as the load-time pass writes it into graphs
CPU_KERNELS = ["compiled", "numpy"] if importlib.util.find_spec("numba") else ["numpy"]

# every op once: operands 0-2 are the inputs, 3.. the steps' results
EVERY_OP = ["Mul 1 0", "AddV2 0 2", "Relu6 4", "Mul 3 5", "Sub 6 2", "Maximum 7 1", "Minimum 8 0",
            "Relu 9", "Neg 10", "Add 11 0"]
HARD_SWISH = ["Mul 1 0", "AddV2 0 2", "Relu6 4", "Mul 3 5"]


@pytest.fixture(params=CPU_KERNELS)
def cpu_kernels(request, monkeypatch):
    monkeypatch.setattr(compiled, "ENABLED", request.param == "compiled")
    return request.param


def unfused(program, operands):
    """The steps through the unfused ops' own CPU kernels, one by one."""
    values = [np.asarray(x) for x in operands]
    for step in program:
        op, *indexes = step.split()
        [value] = run_engine("cpu", op, [values[int(i)] for i in indexes])
        values.append(value)
    return values[-1]


def with_specials(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(-1)
    flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 6.0, 3.0][:flat.size]
    return x


# (shape of the whole input, shapes of the other two): scalars and per-channel constants (compiled),
# a whole second tensor, a broadcast the compiled kernel does not take, small and empty tensors
SHAPES = [
    ((1, 40, 48, 16), [(), (16,)]),
    ((2, 33, 17, 3), [(1, 1, 1, 3), (1,)]),
    ((1, 64, 64, 8), [(1, 64, 64, 8), ()]),
    ((1, 64, 64, 8), [(64, 1, 8), (8,)]),
    ((3, 5), [(), (5,)]),
    ((0, 4), [(), (4,)]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_fused_chain_equals_its_ops_one_by_one(cpu_kernels, rng, dtype, shapes):
    whole, others = shapes
    operands = [with_specials(rand(rng, whole, dtype, -8, 8))] + [rand(rng, s, dtype, -8, 8) for s in others]
    [got] = run_engine("cpu", OP, operands, {"program": EVERY_OP})
    want = unfused(EVERY_OP, operands)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # the same arithmetic in the same order: the same bits


def test_integers_run_on_the_unfused_kernels(cpu_kernels, rng):
    operands = [rng.integers(-10, 10, (2, 50, 50, 4)).astype(np.int32), np.int32(3), np.arange(4, dtype=np.int32)]
    [got] = run_engine("cpu", OP, operands, {"program": HARD_SWISH})
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, unfused(HARD_SWISH, operands))


def test_broadcast_growing_the_result_and_five_whole_tensors(cpu_kernels, rng):
    """The input listed first need not be the biggest; past four whole tensors the steps run unfused."""
    small, big = rand(rng, (16,)), rand(rng, (1, 32, 32, 16))
    [got] = run_engine("cpu", OP, [small, big], {"program": ["Mul 0 1", "Relu 2"]})
    np.testing.assert_array_equal(got, unfused(["Mul 0 1", "Relu 2"], [small, big]))
    five = [rand(rng, (1, 32, 32, 16)) for _ in range(5)]
    program = ["Add 0 1", "Add 5 2", "Add 6 3", "Add 7 4"]
    [got] = run_engine("cpu", OP, five, {"program": program})
    np.testing.assert_array_equal(got, unfused(program, five))


@pytest.mark.parametrize("program, match", [
    (["Exp 0"], "not one of"),
    (["Add 0"], "needs 2 operands"),
    (["Relu 1"], "needs 1 operands"),      # no step 0 result yet: index 1 is the step itself
    ([], "at least one step"),
    ("Relu 0", "a list of steps"),
])
def test_malformed_programs_are_refused(program, match):
    with pytest.raises(KernelError, match=match):
        run_engine("cpu", OP, [np.ones(3, np.float32)], {"program": program})


def test_shapes_that_do_not_broadcast_are_refused(cpu_kernels):
    with pytest.raises(KernelError):
        run_engine("cpu", OP, [np.ones((4, 5), np.float32), np.ones((4, 6), np.float32)],
                   {"program": ["Add 0 1"]})


def test_the_kernel_is_registered_under_the_op_the_graph_pass_writes():
    assert elementwise_chain.OP == OP and OP in dict(elementwise_chain.KERNELS.items())


def test_op_codes_match_the_compiled_kernel():
    """Needs numba, like test_cpu_compiled.py (CI installs .[all])."""
    kernels = compiled.kernels()
    names = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Maximum": "MAXIMUM", "Minimum": "MINIMUM", "Relu": "RELU",
             "Relu6": "RELU6", "Neg": "NEG"}
    for op, code in elementwise_chain.CODES.items():
        assert getattr(kernels, f"CHAIN_{names['Add' if op == 'AddV2' else op]}") == code


def test_the_compiled_kernel_takes_scalars_and_per_channel_constants(monkeypatch, rng):
    """Needs numba, like test_cpu_compiled.py (CI installs .[all])."""
    monkeypatch.setattr(compiled, "ENABLED", True)
    operands = [rand(rng, (1, 40, 48, 16)), rand(rng, ()), rand(rng, (1, 1, 16))]
    steps = elementwise_chain.parse_program(tuple(HARD_SWISH), 3)
    got = elementwise_chain._compiled(operands, steps)
    assert got is not None
    np.testing.assert_array_equal(got, unfused(HARD_SWISH, operands))
