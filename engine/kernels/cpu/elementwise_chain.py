"""_FusedElementwise: a chain of elementwise ops that engine/graph/fuse_elementwise.py fused into one
node for the CPU backend, e.g. MobileNetV3's hard swish x * relu6(x + 3) * (1/6).

Unfused, each op is a pass over memory and a fresh result: four passes over a big activation where
one would do. The compiled kernel (engine.kernels.cpu.numba_kernels.chain_spans) evaluates every
step over one span of values while it is in cache, then the next span. Without numba, or where the
operands do not fit it (more than four whole tensors, a broadcast other than a scalar or a
per-channel constant, another dtype), the steps run one after another through the very kernels the
unfused ops use, so the result is theirs.

`program`: one string per step, "Op a" or "Op a b", whose operands index the node's inputs and then
the earlier steps' results (input count + step); the last step's result is the node's output.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from engine.kernels.cpu import arithmetic, basic_math, compiled, openmp
from engine.kernels.registry import KernelTable

KERNELS = KernelTable()
OP = "_FusedElementwise"

# op -> its unfused CPU kernel; the order is numba_kernels' CHAIN_* codes (Add and AddV2 share one)
UNFUSED: dict[str, Callable[..., np.ndarray]] = {
    "Add": arithmetic.add, "Sub": arithmetic.sub, "Mul": arithmetic.mul, "Maximum": arithmetic.maximum,
    "Minimum": arithmetic.minimum, "Relu": basic_math.relu, "Relu6": basic_math.relu6,
    "Neg": lambda x: np.negative(x),
}
CODES = {op: code for code, op in enumerate(UNFUSED)} | {"AddV2": 0}
ARITY = {"Add": 2, "AddV2": 2, "Sub": 2, "Mul": 2, "Maximum": 2, "Minimum": 2, "Relu": 1, "Relu6": 1, "Neg": 1}
MAX_WHOLE_OPERANDS = 4   # chain_spans takes at most four whole tensors
# the compiled kernel's setup costs ~10 us: smaller results run step by step
COMPILED_MIN_SIZE = 4096
# spans of at least SPAN values, a multiple of the channels and of LLVM's vector block (see compiled.py)
SPAN, MAX_SPAN = 1024, 1 << 16


@lru_cache(maxsize=1024)
def parse_program(program: tuple[str, ...], inputs: int) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(op, operand indexes) per step; ValueError for a program the kernel cannot run."""
    if not program:
        raise ValueError(f"{OP} needs at least one step")
    steps = []
    for index, text in enumerate(program):
        op, *operands = text.split() if isinstance(text, str) else [None]
        if op not in ARITY:
            raise ValueError(f"{OP} step {text!r:.40}: not one of {sorted(ARITY)}")
        if len(operands) != ARITY[op] or not all(o.isdigit() and int(o) < inputs + index for o in operands):
            raise ValueError(f"{OP} step {text!r:.40}: needs {ARITY[op]} operands among the {inputs} inputs "
                             "and the earlier steps")
        steps.append((op, tuple(int(o) for o in operands)))
    return tuple(steps)


@KERNELS.define(OP)
def fused_elementwise(*operands, program: list):
    if not isinstance(program, (list, tuple)):
        raise ValueError(f"{OP} needs a program, a list of steps, got {program!r:.40}")
    steps = parse_program(tuple(program), len(operands))
    result = _compiled(operands, steps)
    if result is not None:
        return result
    values = list(operands)
    for op, indexes in steps:
        values.append(UNFUSED["Add" if op == "AddV2" else op](*(values[i] for i in indexes)))
    return values[-1]


def _compiled(operands: Sequence[np.ndarray], steps) -> np.ndarray | None:
    """The chain through chain_spans, or None where it does not fit."""
    dtype = operands[0].dtype
    if any(x.dtype != dtype for x in operands) or not compiled.handles(dtype):
        return None
    shapes = {x.shape for x in operands}
    try:
        shape = shapes.pop() if len(shapes) == 1 else np.broadcast_shapes(*(x.shape for x in operands))
    except ValueError:
        return None  # the unfused kernels say which shapes do not fit
    size = math.prod(shape)
    channels = shape[-1] if shape else 1
    if size < COMPILED_MIN_SIZE or channels == 0:
        return None
    whole, rows, refs = [], [], []
    for x in operands:
        if x.shape == shape and len(whole) < MAX_WHOLE_OPERANDS:
            refs.append(len(whole))
            whole.append(np.ascontiguousarray(x).reshape(-1))
        elif x.size == 1 or x.size == channels and x.shape[-1] == channels:
            refs.append(-1 - len(rows))
            rows.append(x)
        else:
            return None
    block = math.lcm(channels, 64)
    span = block * -(-SPAN // block)
    if span > MAX_SPAN:
        return None
    constants = _constant_rows(rows, channels, span, dtype)
    codes = _codes(steps, tuple(refs), len(operands), len(rows))
    out = np.empty(shape, dtype)
    flat = out.reshape(-1)
    whole += [whole[0] if whole else flat[:0]] * (MAX_WHOLE_OPERANDS - len(whole))
    spans = -(-size // span)
    if not openmp.chain(codes, whole, constants, flat, spans):
        compiled.kernels().chain_spans(codes, *whole, constants, flat, dtype.type(0), dtype.type(6), 0, spans)
    return out


@lru_cache(maxsize=1024)
def _codes(steps, refs: tuple[int, ...], inputs: int, constant_rows: int) -> np.ndarray:
    """chain_spans' (steps, 3) codes: op code, operand a, operand b (-1 for none)."""
    codes = np.array([[CODES[op], *(_ref(refs, i, inputs, constant_rows) for i in indexes),
                       *([-1] if len(indexes) == 1 else [])] for op, indexes in steps], np.int64)
    codes.flags.writeable = False
    return codes


def _constant_rows(rows: list[np.ndarray], channels: int, span: int, dtype) -> np.ndarray:
    """The scalar and per-channel operands, each repeated over a span: made once per distinct set of
    values (a node's operands are the same on every call, and they are a few bytes to key by)."""
    key = (channels, span, dtype, *((row.size, row.tobytes()) for row in rows))
    constants = _CONSTANT_ROWS.get(key)
    if constants is None:
        constants = np.empty((len(rows), span), dtype)
        for row, values in zip(constants, rows):
            row.reshape(-1, channels)[:] = np.broadcast_to(values.reshape(-1), (channels,))
        constants.flags.writeable = False
        if len(_CONSTANT_ROWS) >= 1024:
            _CONSTANT_ROWS.clear()
        _CONSTANT_ROWS[key] = constants
    return constants


_CONSTANT_ROWS: dict[tuple, np.ndarray] = {}


def _ref(refs: list[int], index: int, inputs: int, constant_rows: int) -> int:
    """chain_spans' operand number: 0-3 a whole tensor, 4 + row a constant, then earlier steps."""
    if index >= inputs:
        return 4 + constant_rows + index - inputs
    ref = refs[index]
    return ref if ref >= 0 else 4 - 1 - ref
