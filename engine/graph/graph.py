"""Graph structure: nodes with resolved inputs, function bodies, and structural validation."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from engine.errors import AttrError, GraphError
from engine.io.graph_def import FuncRef, FunctionDef, NodeDef
from engine.kernels.registry import get_kernel

# Ops whose outputs are several named args: a function body's "node:arg:i" reference needs the
# flat output index. Entries are an arg name (one tensor) or (name, attr) for a list whose
# length is the attr's value (an int, or the length of a list attr).
OUTPUT_ARGS: dict[str, tuple] = {
    "Switch": ("output_false", "output_true"),
    "Merge": ("output", "value_index"),
    "FusedBatchNorm": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
    "FusedBatchNormV2": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"),
    "FusedBatchNormV3": ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2",
                         "reserve_space_3"),
    "Unique": ("y", "idx"),
    "UniqueV2": ("y", "idx"),
    "UniqueWithCounts": ("y", "idx", "count"),
    "TopKV2": ("values", "indices"),
    "NonMaxSuppressionV4": ("selected_indices", "valid_outputs"),
    "NonMaxSuppressionV5": ("selected_indices", "selected_scores", "valid_outputs"),
    "TensorArrayV3": ("handle", "flow"),
    "TensorArrayConcatV3": ("value", "lengths"),
    "TensorListPopBack": ("output_handle", "tensor"),
    "MaxPoolWithArgmax": ("output", "argmax"),
    "ListDiff": ("out", "idx"),
    "StringSplit": ("indices", "values", "shape"),
    "StringNGrams": ("ngrams", "ngrams_splits"),
    "SparseFillEmptyRows": ("output_indices", "output_values", "empty_row_indicator", "reverse_index_map"),
    "SparseReshape": ("output_indices", "output_shape"),
    "RaggedRange": ("rt_nested_splits", "rt_dense_values"),
    "RaggedGather": (("output_nested_splits", "OUTPUT_RAGGED_RANK"), "output_dense_values"),
    "BroadcastGradientArgs": ("r0", "r1"),
}


@dataclass
class Node:
    name: str
    op: str
    inputs: list[tuple[str, int]]
    control_inputs: list[str]
    attrs: dict[str, Any]
    raw_inputs: list[str] = field(default_factory=list, repr=False)


@dataclass
class Function:
    """A library function: a graph whose Placeholder nodes are its arguments."""

    name: str
    graph: Graph
    arg_names: list[str]
    outputs: list[tuple[str, int]]


class Graph:
    def __init__(self, nodes: list[Node], functions: dict[str, Function] | None = None):
        self.nodes: dict[str, Node] = {}
        for node in nodes:
            if node.name in self.nodes:
                raise GraphError(f"two nodes are named {node.name!r}")
            self.nodes[node.name] = node
        self.functions = functions if functions is not None else {}
        for node in nodes:
            for source in [name for name, _ in node.inputs] + node.control_inputs:
                if source not in self.nodes:
                    raise GraphError(f"node {node.name!r} takes input from {source!r}, which is not in the graph")

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            for source in {name for name, _ in node.inputs} | set(node.control_inputs):
                out[source].append(node.name)
        return out

    def all_nodes(self):
        """Every node the graph can run: its own, and those of the library functions its nodes call,
        directly or not. Functions nothing calls are left out, as TF.js leaves them: converted
        Estimators keep their summaries' `zero_fraction` bodies (ReadVariableOp, Optional*)."""
        yield from self.nodes.values()
        seen: set[str] = set()
        pending = [ref for node in self.nodes.values() for ref in _called(node.attrs)]
        while pending:
            name = pending.pop().name
            if name in seen or name not in self.functions:
                continue
            seen.add(name)
            for node in self.functions[name].graph.nodes.values():
                yield node
                pending.extend(_called(node.attrs))


def _called(value: Any) -> list[FuncRef]:
    """The functions an attr value names: FuncRefs, in lists and in a FuncRef's own attrs too."""
    if isinstance(value, FuncRef):
        return [value, *_called(value.attrs)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _called(item)]
    if isinstance(value, list | tuple):
        return [ref for item in value for ref in _called(item)]
    return []


def parse_tensor_name(name: str) -> tuple[str, int]:
    """'x' -> ('x', 0); 'x:1' -> ('x', 1)."""
    node, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return node, int(index)
    return name, 0


def _split_input(text: str) -> tuple[str, str | None, int]:
    """'a' | 'a:1' | 'a:arg:1' -> (node, arg or None, index)."""
    parts = text.split(":")
    if len(parts) >= 3 and parts[-1].isdigit():
        return ":".join(parts[:-2]), parts[-2], int(parts[-1])
    if len(parts) >= 2 and parts[-1].isdigit():
        return ":".join(parts[:-1]), None, int(parts[-1])
    return text, None, 0


def _flat_index(source: NodeDef | None, arg: str | None, index: int) -> int:
    if arg is None or source is None or source.op not in OUTPUT_ARGS:
        return index
    offset = 0
    for spec in OUTPUT_ARGS[source.op]:
        name, count = (spec, 1) if isinstance(spec, str) else (spec[0], _arg_length(source, spec[1]))
        if name == arg:
            return offset + index
        offset += count
    return index


def _arg_length(node: NodeDef, attr: str) -> int:
    value = node.attrs.get(attr, 1)
    if isinstance(value, list):
        return len(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AttrError(node.name, attr, f"must be a list or a non-negative count, got {value!r:.60}")
    return value


# Ops with exactly one output: reading output 1 or above of one of these is a broken reference.
SINGLE_OUTPUT_OPS = frozenset({"Const", "Placeholder", "PlaceholderWithDefault"})


# Data inputs of the ops the executor runs itself (v1 control flow): (fewest, most).
EXECUTOR_ARITY: dict[str, tuple[int, int | None]] = {
    "Enter": (1, 1), "RefEnter": (1, 1), "Exit": (1, 1), "RefExit": (1, 1), "NextIteration": (1, 1),
    "RefNextIteration": (1, 1), "LoopCond": (1, 1), "Switch": (2, 2), "RefSwitch": (2, 2),
    "Merge": (1, None), "RefMerge": (1, None),
}


@functools.cache
def input_arity(op: str) -> tuple[int, int | None] | None:
    """(fewest, most) data inputs the op takes (most None: any number): the executor's control-flow
    ops, or the parameters of the op's kernel; None where neither knows it (unknown ops are
    reported elsewhere)."""
    if op in EXECUTOR_ARITY:
        return EXECUTOR_ARITY[op]
    for backend in ("cpu", "*", "webgl"):
        kernel = get_kernel(op, backend)
        if kernel is not None:
            return len(kernel.inputs), None if kernel.variadic else len(kernel.inputs)
    return None


@functools.cache
def required_attrs(op: str) -> frozenset[str]:
    """Attrs every kernel of the op needs (the executor's `runtime` aside)."""
    kernels = [k for k in (get_kernel(op, backend) for backend in ("cpu", "*", "webgl")) if k is not None]
    if not kernels:
        return frozenset()
    return frozenset.intersection(*(k.required_attrs for k in kernels)) - {"runtime"}


def _check_node(node: Node, by_name: dict[str, NodeDef]) -> None:
    """Load-time checks of a node: the attrs its op's kernels require are there, it has as many data
    inputs as they take, and it reads no output index beyond what a single-output source has."""
    for attr in sorted(required_attrs(node.op)):
        if attr not in node.attrs:
            raise AttrError(node.name, attr, f"required by {node.op} but missing")
    arity = input_arity(node.op)
    if arity is not None:
        fewest, most = arity
        count = len(node.inputs)
        if count < fewest or most is not None and count > most:
            expected = (f"{fewest}" if fewest == most else f"at least {fewest}" if most is None
                        else f"{fewest} to {most}")
            raise GraphError(f"node {node.name!r} ({node.op}) has {count} data input(s); {node.op} takes {expected}")
    for source, index in node.inputs:
        source_def = by_name.get(source)
        if index > 0 and source_def is not None and source_def.op in SINGLE_OUTPUT_OPS:
            raise GraphError(f"node {node.name!r} reads output {index} of {source!r}, "
                             f"a {source_def.op} with one output")


def build_graph(node_defs: list[NodeDef], function_defs: dict[str, FunctionDef] | None = None,
                extra_nodes: list[Node] = ()) -> Graph:
    by_name = {n.name: n for n in node_defs}
    nodes = list(extra_nodes)
    for node_def in node_defs:
        data, control = [], []
        for text in node_def.inputs:
            if text.startswith("^"):
                control.append(text[1:])
                continue
            source, arg, index = _split_input(text)
            data.append((source, _flat_index(by_name.get(source), arg, index)))
        node = Node(node_def.name, node_def.op, data, control, node_def.attrs, list(node_def.inputs))
        _check_node(node, by_name)
        nodes.append(node)
    functions = {name: build_function(f) for name, f in (function_defs or {}).items()}
    graph = Graph(nodes, functions)
    for function in functions.values():
        function.graph.functions = functions
    return graph


def build_function(fdef: FunctionDef) -> Function:
    args = [Node(arg.name, "Placeholder", [], [], {"dtype": arg.dtype}) for arg in fdef.input_args]
    graph = build_graph(fdef.nodes, None, extra_nodes=args)
    by_name = {n.name: n for n in fdef.nodes}
    outputs = []
    for arg in fdef.output_args:
        if arg.name not in fdef.ret:
            raise GraphError(f"function {fdef.name!r} does not say what its output {arg.name!r} returns")
        source, sub, index = _split_input(fdef.ret[arg.name])
        if source not in graph.nodes:
            raise GraphError(f"function {fdef.name!r} returns {fdef.ret[arg.name]!r}, which is not in its body")
        outputs.append((source, _flat_index(by_name.get(source), sub, index)))
    return Function(fdef.name, graph, [a.name for a in fdef.input_args], outputs)
