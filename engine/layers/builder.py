"""Building an op graph from layers by tracing: every op a layer emits is also run once, on the
CPU, over ones-filled probe inputs of the real shapes, so each graph tensor's shape and dtype are
known while the graph is built (layers need them: Flatten, RNN unrolling, Dense on rank > 2)."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import dtypes
from engine.backends import get_backend
from engine.graph.graph import Graph, Node
from engine.tensors import Tensor


@dataclass(frozen=True)
class Sym:
    """A tensor of the graph being built: its graph key and its traced probe value."""

    key: tuple[str, int]
    probe: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.probe.shape

    @property
    def rank(self) -> int:
        return self.probe.ndim

    @property
    def dtype(self) -> str:
        return dtypes.dtype_of_array(self.probe)


class GraphBuilder:
    """`training`: layers emit their training-mode ops (BatchNormalization normalizes by the batch's
    statistics) and keep every weight an input of the ops that use it, so gradients reach it."""

    def __init__(self, training: bool = False, frozen: frozenset[str] = frozenset()):
        self.training = training
        # Training: the top-level layers set trainable=False (engine.layers.registry.LayerContext.frozen).
        self.frozen = frozen
        # Training: a weight's value after the step (manifest name -> its new value), for the
        # weights a layer updates itself rather than by gradient (BatchNormalization's statistics).
        self.state_updates: dict[str, Sym] = {}
        # Training: Placeholder node -> the noise (engine.layers.noise.Noise) a step feeds it.
        self.noise: dict[str, Any] = {}
        self.nodes: list[Node] = []
        self.constants: dict[str, np.ndarray] = {}
        self._used: set[str] = set()
        self._cpu = get_backend("cpu")

    def unique(self, name: str) -> str:
        candidate, count = name, 0
        while candidate in self._used:
            count += 1
            candidate = f"{name}_{count}"
        self._used.add(candidate)
        return candidate

    def placeholder(self, name: str, shape: Sequence[int], dtype: str) -> Sym:
        name = self.unique(name)
        self.nodes.append(Node(name, "Placeholder", [], [], {"dtype": dtype, "shape": tuple(shape)}))
        return Sym((name, 0), np.ones(shape, dtypes.NUMPY_OF[dtype]))

    def const(self, value: Any, name: str = "const", dtype: str | None = None) -> Sym:
        array = dtypes.to_storage(np.asarray(value), dtype)
        name = self.unique(name)
        self.nodes.append(Node(name, "Const", [], [], {"dtype": dtypes.dtype_of_array(array)}))
        self.constants[name] = array
        return Sym((name, 0), array)

    def ints(self, values: Any, name: str = "shape") -> Sym:
        return self.const(np.asarray(values, np.int32), name, "int32")

    def op(self, op: str, inputs: Sequence[Sym], attrs: dict | None = None, name: str | None = None) -> Sym:
        return self.op_outputs(op, inputs, attrs, name)[0]

    def op_outputs(self, op: str, inputs: Sequence[Sym], attrs: dict | None = None,
                   name: str | None = None) -> list[Sym]:
        """Adds node `op`; returns all its outputs (traced on the CPU)."""
        attrs = dict(attrs or {})
        node_name = self.unique(name or op)
        probes = [Tensor(s.probe, s.dtype) for s in inputs]
        outputs = self._cpu.run(op, probes, attrs, node=node_name)
        self.nodes.append(Node(node_name, op, [s.key for s in inputs], [], attrs))
        return [Sym((node_name, i), out.numpy()) for i, out in enumerate(outputs)]

    def graph(self) -> Graph:
        return Graph(self.nodes)
