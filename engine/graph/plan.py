"""Execution plans: which nodes a (feeds, fetches) pair needs, in what order, and when each
intermediate tensor can be freed. With v1 control flow, only the control flow ops and the nodes
between them go to the dataflow executor (engine.graph.dataflow), which costs more per node:
the plain prefix that no control flow op feeds runs as steps before it, the plain tail that
feeds none as steps after it."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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
    static: bool = False        # its value follows from shapes and constants (engine.graph.static_values)


@dataclass
class ControlFlow:
    """A plan's part for the dataflow executor, and the tail of steps that runs after it."""
    nodes: frozenset[str]       # what its run covers: the part, and the nodes it starts from
    sources: frozenset[str]     # fed nodes and prefix nodes the part reads: it starts from them as if fed
    handover: frozenset[str]    # the prefix nodes among them
    kept: frozenset[str]        # nodes whose outputs its run must not free: fetched, or the tail reads them
    tail: list[Step]
    handback: tuple[TensorKey, ...]  # the part's outputs the tail reads
    awaited: frozenset[str]     # the part's nodes tail nodes wait for by a control edge


@dataclass
class Plan:
    steps: list[Step]           # all the work; with v1 control flow, the plain prefix
    needed: set[str]
    flow: ControlFlow | None = None
    wiring: Any = None          # the dataflow executor's static wiring, built on its first run

    @property
    def dataflow(self) -> bool:
        return self.flow is not None


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


def control_flow_split(graph: Graph, needed: set[str], feeds: set[TensorKey]) -> tuple[set[str], set[str]]:
    """(part, tail): the needed v1 control flow ops and the nodes between them, for the dataflow
    executor, and the nodes after them that feed none. The other needed nodes, the prefix, are
    those no control flow op feeds: like the tail's, they run once each, in the root frame, and
    never see a dead value, so steps run them."""
    fed_nodes = {name for name, _ in feeds}
    readers: dict[str, list[str]] = defaultdict(list)
    for name in needed - fed_nodes:
        for source in sources(graph.nodes[name]):
            readers[source].append(name)
    control_flow_ops = [name for name in needed - fed_nodes if graph.nodes[name].op in CONTROL_FLOW_V1]
    fed_by_control_flow: set[str] = set()
    stack = list(control_flow_ops)
    while stack:
        name = stack.pop()
        if name not in fed_by_control_flow:
            fed_by_control_flow.add(name)
            stack.extend(readers[name])
    part = fed_by_control_flow & needed_nodes(graph, feeds, control_flow_ops)
    return part, fed_by_control_flow - part


def build_plan(graph: Graph, feeds: set[TensorKey], fetches: list[TensorKey],
               node_attrs=lambda node: node.attrs, targets: tuple[str, ...] = ()) -> Plan:
    """`targets`: nodes to run for their effect only (a table initializer), not fetched."""
    fed_nodes = {name for name, _ in feeds}
    needed = needed_nodes(graph, feeds, [name for name, _ in fetches] + list(targets))
    part, tail_nodes = control_flow_split(graph, needed, feeds)

    def steps_of(names: set[str]) -> list[Step]:
        order = topological_order(graph, names, fed_nodes)
        return [Step(node, list(node.inputs), node_attrs(node), []) for node in order if node.name not in fed_nodes]

    steps = steps_of(needed - part - tail_nodes)
    if not part:
        _set_frees(steps, set(fetches))
        return Plan(steps, needed)
    tail = steps_of(tail_nodes)
    part_sources = {source for name in part for source in sources(graph.nodes[name]) if source not in part}
    handover = part_sources - fed_nodes
    tail_reads = {key for step in tail for key in step.input_keys}
    _set_frees(steps, {key for step in steps for key in step.input_keys if key[0] in handover}
               | tail_reads | set(fetches))
    _set_frees(tail, set(fetches))
    control_flow = ControlFlow(
        nodes=frozenset(part | part_sources), sources=frozenset(part_sources), handover=frozenset(handover),
        kept=frozenset({name for name, _ in fetches} | {source for step in tail for source in sources(step.node)}),
        tail=tail, handback=tuple(sorted(key for key in tail_reads if key[0] in part)),
        awaited=frozenset(name for step in tail for name in step.node.control_inputs if name in part))
    return Plan(steps, needed, flow=control_flow)


def _set_frees(steps: list[Step], kept: set[TensorKey]) -> None:
    """Lists each tensor the steps read, but `kept`, in the frees of its last reader."""
    last_reader: dict[TensorKey, int] = {}
    for index, step in enumerate(steps):
        for key in step.input_keys:
            last_reader[key] = index
    for key, index in last_reader.items():
        if key not in kept:
            steps[index].frees.append(key)


def release(tensor: Any, keep: set) -> None:
    """Frees a tensor's device storage now, unless it is a constant, a caller's input, or kept for a
    gradient tape's backward pass."""
    if isinstance(tensor, Tensor) and tensor.device_data is not None and tensor not in keep \
            and not tape.retained(tensor):
        tensor.dispose()
