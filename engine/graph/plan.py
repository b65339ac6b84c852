"""Execution plans: which nodes a (feeds, fetches) pair needs, in what order, and when each
intermediate tensor can be freed. With v1 control flow, only the nodes a control flow op feeds
(directly or not) go to the dataflow executor; the plain prefix before them runs as steps."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from engine import tape
from engine.errors import GraphError
from engine.graph.graph import Graph, Node
from engine.kernels.registry import CONTROL_FLOW_V1
from engine.tensors import Tensor

TensorKey = tuple[str, int]


@dataclass
class Step:
    node: Node
    input_keys: list[TensorKey]
    attrs: dict[str, Any]
    frees: list[TensorKey]      # tensors whose last reader is this step
    # (backend, Backend.runner's function for this step), made on its first run there (engine.graph.executor)
    runner: tuple[Any, Any] | None = None


@dataclass
class Plan:
    steps: list[Step]           # all the work, or with v1 control flow the plain prefix's
    needed: set[str]
    dataflow: bool              # v1 control flow: the rest runs by the dataflow executor after the steps
    initial_frees: list[TensorKey]
    wiring: Any = None          # the dataflow executor's static wiring, built on its first run
    # The dataflow part: its nodes, and among them the fed nodes and prefix nodes it starts from as
    # if fed (the prefix's are handed over: outputs it reads, or fetched ones).
    flow_nodes: frozenset[str] = frozenset()
    flow_sources: frozenset[str] = frozenset()
    handover: frozenset[str] = field(default_factory=frozenset)


def sources(node: Node) -> set[str]:
    """The nodes `node` waits for: those it reads and its control inputs."""
    return {source for source, _ in node.inputs} | set(node.control_inputs)


def needed_nodes(graph: Graph, feeds: set[TensorKey], fetch_nodes: list[str]) -> set[str]:
    """Nodes reachable backwards from the fetches, not crossing fed tensors."""
    fed_nodes = {name for name, _ in feeds}
    needed: set[str] = set()
    stack = list(fetch_nodes)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in fed_nodes:
            continue
        node = graph.nodes[name]
        stack.extend(source for source, _ in node.inputs)
        stack.extend(node.control_inputs)
    return needed


def topological_order(graph: Graph, needed: set[str], fed_nodes: set[str]) -> list[Node]:
    """Kahn's algorithm over the needed subgraph, in the graph's own node order where free to choose."""
    indegree, consumers = {}, {name: [] for name in needed}
    for name in needed:
        node = graph.nodes[name]
        sources = set() if name in fed_nodes else \
            {s for s, _ in node.inputs if s in needed} | {s for s in node.control_inputs if s in needed}
        indegree[name] = len(sources)
        for source in sources:
            consumers[source].append(name)
    position = {name: i for i, name in enumerate(graph.nodes)}
    ready = sorted((n for n, d in indegree.items() if d == 0), key=position.__getitem__, reverse=True)
    order = []
    while ready:
        name = ready.pop()
        order.append(graph.nodes[name])
        newly = []
        for consumer in consumers[name]:
            indegree[consumer] -= 1
            if indegree[consumer] == 0:
                newly.append(consumer)
        ready.extend(sorted(newly, key=position.__getitem__, reverse=True))
    if len(order) != len(needed):
        stuck = sorted(n for n, d in indegree.items() if d > 0)
        raise GraphError(f"the graph has a cycle outside control flow, through {', '.join(stuck[:5])}")
    return order


def control_flow_part(graph: Graph, needed: set[str], fed_nodes: set[str]) -> set[str]:
    """The needed v1 control flow ops and every node they feed, directly or not. The other needed
    nodes run once each, in the root frame, and never see a dead value: plain steps."""
    readers: dict[str, list[str]] = defaultdict(list)
    for name in needed - fed_nodes:
        for source in sources(graph.nodes[name]):
            readers[source].append(name)
    part: set[str] = set()
    stack = [name for name in needed - fed_nodes if graph.nodes[name].op in CONTROL_FLOW_V1]
    while stack:
        name = stack.pop()
        if name not in part:
            part.add(name)
            stack.extend(readers[name])
    return part


def build_plan(graph: Graph, feeds: set[TensorKey], fetches: list[TensorKey],
               node_attrs=lambda node: node.attrs, targets: tuple[str, ...] = ()) -> Plan:
    """`targets`: nodes to run for their effect only (a table initializer), not fetched."""
    fed_nodes = {name for name, _ in feeds}
    needed = needed_nodes(graph, feeds, [name for name, _ in fetches] + list(targets))
    flow = control_flow_part(graph, needed, fed_nodes)
    order = topological_order(graph, needed - flow, fed_nodes)
    steps = [Step(node, list(node.inputs), node_attrs(node), []) for node in order if node.name not in fed_nodes]
    if not flow:
        kept = set(fetches)
        last_reader = _set_frees(steps, kept)
        initial_frees = [key for key in feeds if key not in last_reader and key not in kept]
        return Plan(steps, needed, dataflow=False, initial_frees=initial_frees)
    # The flow's own inputs from outside it, and fetched nodes outside it, start its run.
    flow_sources = {source for name in flow for source in sources(graph.nodes[name]) if source not in flow}
    flow_sources |= {name for name, _ in fetches if name not in flow}
    handover = flow_sources - fed_nodes
    _set_frees(steps, {key for step in steps for key in step.input_keys if key[0] in handover})
    return Plan(steps, needed, dataflow=True, initial_frees=[], flow_nodes=frozenset(flow | flow_sources),
                flow_sources=frozenset(flow_sources), handover=frozenset(handover))


def _set_frees(steps: list[Step], kept: set[TensorKey]) -> dict[TensorKey, int]:
    """Lists each tensor the steps read, but `kept`, in the frees of its last reader; returns the
    index of each one's last reader."""
    last_reader: dict[TensorKey, int] = {}
    for index, step in enumerate(steps):
        for key in step.input_keys:
            last_reader[key] = index
    for key, index in last_reader.items():
        if key not in kept:
            steps[index].frees.append(key)
    return last_reader


def release(tensor: Any, keep: set) -> None:
    """Frees a tensor's device storage now, unless it is a constant, a caller's input, or kept for a
    gradient tape's backward pass."""
    if isinstance(tensor, Tensor) and tensor not in keep and not tape.retained(tensor):
        tensor.dispose()
