"""The kernel registry, keyed by (TensorFlow op name, backend).

Kernel modules define kernels into a module-level `KERNELS = KernelTable()` with
`@KERNELS.define("Op", ...)`; defining has no effect outside that table. One module,
engine/kernels/register_all.py, registers every family's table under its backend (as TF.js's
register_all_kernels.ts), so importing a kernel module never changes what a backend runs.

A kernel is a plain function. Its positional parameters are the op's inputs (a `*args` parameter
takes a variable number); its keyword-only parameters are the node attributes it reads, named as
in TensorFlow's OpDef (`strides`, `padding`, `data_format`, ...). Attributes a kernel does not
name are not passed, so graph nodes can carry any extra attrs.

Backends:
  "cpu"   receives numpy arrays, returns arrays (or tuples of them);
  "webgl" receives the WebGL backend and Tensors, returns Tensors;
  "*"     receives Tensors (and list/array handles) and works on any backend without
          touching values: shape ops, Identity, control flow, TensorList bookkeeping;
  "dry-run" as "cpu", for ops whose output sizes depend on values: what a compile-only run (which
          reads zeros where values live on the GPU) runs instead, the largest outputs the op can give.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

BACKEND_NEUTRAL = "*"
DRY_RUN = "dry-run"


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# What an attr annotated with each of these types may hold (decoded from model.json or passed by layers).
_ATTR_TYPES: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "str | None": lambda v: v is None or isinstance(v, str),
    "bool": lambda v: isinstance(v, (bool, np.bool_)),
    "int": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, (float, np.floating)),
}


@dataclass(frozen=True)
class Kernel:
    op: str
    backend: str
    fn: Callable
    inputs: tuple[str, ...]
    variadic: bool
    attrs: frozenset[str]
    required_attrs: frozenset[str]
    typed_attrs: tuple[tuple[str, str], ...] = ()   # (attr, annotation) for annotations in _ATTR_TYPES

    @classmethod
    def from_function(cls, op: str, backend: str, fn: Callable) -> Kernel:
        params = list(inspect.signature(fn).parameters.values())
        if backend == "webgl":
            params = params[1:]  # the backend itself
        positional = tuple(p.name for p in params
                           if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        keyword = [p for p in params if p.kind == p.KEYWORD_ONLY]
        return cls(op=op, backend=backend, fn=fn, inputs=positional,
                   variadic=any(p.kind == p.VAR_POSITIONAL for p in params),
                   attrs=frozenset(p.name for p in keyword),
                   required_attrs=frozenset(p.name for p in keyword if p.default is p.empty),
                   typed_attrs=tuple((p.name, p.annotation) for p in keyword if p.annotation in _ATTR_TYPES))

    def select_attrs(self, attrs: dict) -> dict:
        """The attrs this kernel reads; raises KeyError naming a required one that is missing."""
        for name in self.required_attrs:
            if name not in attrs:
                raise KeyError(name)
        return {k: v for k, v in attrs.items() if k in self.attrs}

    def mistyped_attr(self, attrs: dict) -> tuple[str, str] | None:
        """(name, what is wrong) of the first attr whose value its annotation does not allow (a bytes
        data_format, a list axis); None when all fit."""
        for name, annotation in self.typed_attrs:
            if name in attrs and not _ATTR_TYPES[annotation](attrs[name]):
                return name, f"must be {annotation}, got {attrs[name]!r:.60}"
        return None


class KernelTable:
    """The kernels one family module defines for one backend, by TensorFlow op name."""

    def __init__(self) -> None:
        self._kernels: dict[str, Callable] = {}

    def define(self, *ops: str) -> Callable[[Callable], Callable]:
        """Decorator: `fn` is the kernel of each of `ops` in this table."""
        def decorate(fn: Callable) -> Callable:
            for op in ops:
                if op in self._kernels:
                    raise ValueError(f"{op} is defined twice in one kernel table")
                self._kernels[op] = fn
            return fn
        return decorate

    def items(self) -> list[tuple[str, Callable]]:
        return list(self._kernels.items())


# Ops the graph executor (engine/graph) runs itself: they have no kernel on any backend.
CONTROL_FLOW_V1 = frozenset({"Enter", "RefEnter", "Exit", "RefExit", "Switch", "RefSwitch", "Merge", "RefMerge",
                             "NextIteration", "RefNextIteration", "LoopCond"})
EXECUTOR_OPS = frozenset({"Const", "Placeholder"}) | CONTROL_FLOW_V1

_REGISTRY: dict[tuple[str, str], Kernel] = {}


def register(table: KernelTable, backend: str) -> None:
    """Makes every kernel of `table` the kernel of its op on `backend` (register_all.py's job)."""
    for op, fn in table.items():
        if (op, backend) in _REGISTRY:
            raise ValueError(f"{op} has two {backend} kernels")
        _REGISTRY[(op, backend)] = Kernel.from_function(op, backend, fn)


def get_kernel(op: str, backend: str) -> Kernel | None:
    return _REGISTRY.get((op, backend))


def all_ops() -> set[str]:
    return {op for op, _ in _REGISTRY}


def snake_case(op: str) -> str:
    """TensorFlow op name -> Python function name: 'BatchMatMulV2' -> 'batch_mat_mul_v2'."""
    name = op.lstrip("_")
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"(\d)D\b", r"\1d", name)
    name = name.lower().replace("2_d", "2d").replace("3_d", "3d").replace("1_d", "1d")
    return re.sub(r"(?<=[a-z])v(\d+)$", r"_v\1", name)
