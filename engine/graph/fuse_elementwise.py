"""Load-time fusion of elementwise chains into one _FusedElementwise node, for the CPU backend only.

A connected group of float32 Add/AddV2/Sub/Mul/Maximum/Minimum/Relu/Relu6/Neg nodes whose
intermediate results nobody else reads (MobileNetV3's hard swish: x * c, x + 3, Relu6, their
product) becomes one node that evaluates the group over each span of its output while it is in
cache (engine/kernels/cpu/elementwise_chain.py). It saves a pass over memory and a step of the
executor per op fused away.

The WebGL backend does not get it: its draws already cost little per op, and a fused node would
need shaders of its own; GraphModel asks the backend (`Backend.fuses_elementwise`). Nodes fused
away keep their names in the original graph, which GraphModel runs for fetches of them.
"""
from __future__ import annotations

from collections.abc import Iterable

from engine.graph.graph import Graph, Node
from engine.kernels.cpu.elementwise_chain import ARITY, OP

FUSABLE_TYPES = ("float32",)


def fuse_elementwise_chains(graph: Graph, protected: Iterable[str] = ()) -> Graph:
    """The graph with each fusable group of two or more elementwise nodes as one node named as the
    group's output node. `protected`: nodes whose outputs must stay (the model's outputs)."""
    protected = set(protected)
    consumers = graph.consumers()
    nodes = dict(graph.nodes)
    fused: set[str] = set()
    order = _topological(graph)
    for name in reversed(order):
        if name in fused:
            continue
        node = nodes[name]
        if not _fusable(node) or _feeds_one_fusable(node, nodes, consumers, protected):
            continue
        group = _grow(node, nodes, consumers, protected)
        replacement = _fused_node(node, [graph.nodes[m] for m in order if m in group]) if len(group) > 1 else None
        if replacement is not None:
            fused.update(group)
            for member in group - {name}:
                del nodes[member]
            nodes[name] = replacement
    return Graph(list(nodes.values()), graph.functions) if fused else graph


def _fusable(node: Node) -> bool:
    return node.op in ARITY and len(node.inputs) == ARITY[node.op] and not node.control_inputs \
        and node.attrs.get("T", "float32") in FUSABLE_TYPES and all(index == 0 for _, index in node.inputs)


def _feeds_one_fusable(node: Node, nodes: dict, consumers: dict, protected: set) -> bool:
    """Whether the node's only reader is a fusable node, which then is the group's output instead."""
    readers = consumers.get(node.name, [])
    return node.name not in protected and len(readers) == 1 and _fusable(nodes[readers[0]])


def _grow(output: Node, nodes: dict, consumers: dict, protected: set) -> set[str]:
    """The output node and, repeatedly, each fusable producer every reader of which is in the group."""
    group = {output.name}
    changed = True
    while changed:
        changed = False
        for member in list(group):
            for source, _ in nodes[member].inputs:
                producer = nodes.get(source)
                if source in group or source in protected or producer is None or not _fusable(producer):
                    continue
                if all(reader in group for reader in consumers.get(source, [])):
                    group.add(source)
                    changed = True
    return group


def _fused_node(output: Node, members: list[Node]) -> Node | None:
    """One node: the group's outside inputs, and a program of its steps in topological order; None
    for a cycle (left for the executor to refuse)."""
    inside = {member.name: index for index, member in enumerate(members)}
    if any(inside.get(source, -1) >= inside[member.name] for member in members for source, _ in member.inputs):
        return None
    inputs: list[tuple[str, int]] = []
    for member in members:
        for key in member.inputs:
            if key[0] not in inside and key not in inputs:
                inputs.append(key)
    program = []
    for member in members:
        operands = [len(inputs) + inside[name] if name in inside else inputs.index((name, index))
                    for name, index in member.inputs]
        program.append(" ".join([member.op, *map(str, operands)]))
    return Node(output.name, OP, inputs, [], {"program": program, "T": output.attrs.get("T", "float32")})


def _topological(graph: Graph) -> list[str]:
    """Node names, producers before readers (the graph's own order where it already is one)."""
    order, seen, entered = [], set(), set()
    for name in graph.nodes:
        stack = [(name, False)]
        while stack:
            current, expanded = stack.pop()
            if current in seen or current not in graph.nodes or not expanded and current in entered:
                continue  # done, or on the path already (a v1 loop's back edge)
            if expanded:
                seen.add(current)
                order.append(current)
                continue
            entered.add(current)
            stack.append((current, True))
            node = graph.nodes[current]
            stack.extend((source, False) for source, _ in node.inputs if source not in seen)
            stack.extend((source, False) for source in node.control_inputs if source not in seen)
    return order
