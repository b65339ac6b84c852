"""The kernel registry, keyed by (TensorFlow op name, backend).

A kernel is a plain function. Its positional parameters are the op's inputs (a `*args` parameter
takes a variable number); its keyword-only parameters are the node attributes it reads, named as
in TensorFlow's OpDef (`strides`, `padding`, `data_format`, ...). Attributes a kernel does not
name are not passed, so graph nodes can carry any extra attrs.

Backends:
  "cpu"   receives numpy arrays, returns arrays (or tuples of them);
  "webgl" receives the WebGL backend and Tensors, returns Tensors;
  "*"     receives Tensors (and list/array handles) and works on any backend without
          touching values: shape ops, Identity, control flow, TensorList bookkeeping.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Callable

BACKEND_NEUTRAL = "*"


@dataclass(frozen=True)
class Kernel:
    op: str
    backend: str
    fn: Callable
    inputs: tuple[str, ...]
    variadic: bool
    attrs: frozenset[str]
    required_attrs: frozenset[str]

    @classmethod
    def from_function(cls, op: str, backend: str, fn: Callable) -> "Kernel":
        params = list(inspect.signature(fn).parameters.values())
        if backend == "webgl":
            params = params[1:]  # the backend itself
        positional = tuple(p.name for p in params
                           if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        keyword = [p for p in params if p.kind == p.KEYWORD_ONLY]
        return cls(op=op, backend=backend, fn=fn, inputs=positional,
                   variadic=any(p.kind == p.VAR_POSITIONAL for p in params),
                   attrs=frozenset(p.name for p in keyword),
                   required_attrs=frozenset(p.name for p in keyword if p.default is p.empty))

    def select_attrs(self, attrs: dict) -> dict:
        """The attrs this kernel reads; raises KeyError naming a required one that is missing."""
        for name in self.required_attrs:
            if name not in attrs:
                raise KeyError(name)
        return {k: v for k, v in attrs.items() if k in self.attrs}


_REGISTRY: dict[tuple[str, str], Kernel] = {}


def register(*ops: str, backend: str = "cpu") -> Callable[[Callable], Callable]:
    """Decorator: registers a function as the kernel of `ops` on `backend`."""
    def decorate(fn: Callable) -> Callable:
        for op in ops:
            _REGISTRY[(op, backend)] = Kernel.from_function(op, backend, fn)
        return fn
    return decorate


def get_kernel(op: str, backend: str) -> Kernel | None:
    return _REGISTRY.get((op, backend))


def ops_of(backend: str) -> set[str]:
    return {op for op, b in _REGISTRY if b == backend}


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
