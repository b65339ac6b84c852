"""Dataflow execution of TensorFlow's v1 control flow (Enter/Exit/Switch/Merge/NextIteration/LoopCond).

Every value is tagged with a context: the stack of (frame, iteration) it was produced in. A node
runs in a context once all its inputs have arrived there; Enter moves a value into a child frame,
NextIteration into the next iteration, Exit back to the parent. Switch sends its data to one port
and a DEAD marker to the other; a node with a dead input produces dead outputs without running,
except Merge, which forwards the first live input.
"""
from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.backends.base import Backend
from engine.errors import GraphError, InputError
from engine.graph.graph import Node
from engine.graph.plan import Plan, TensorKey, release
from engine.io.limits import Limits
from engine.tensors import Tensor, alias, tensor

Context = tuple  # ((frame, iteration), ...)


class _Dead:
    def __repr__(self) -> str:
        return "DEAD"


DEAD = _Dead()

ENTER = frozenset({"Enter", "RefEnter"})
EXIT = frozenset({"Exit", "RefExit"})
NEXT = frozenset({"NextIteration", "RefNextIteration"})
MERGE = frozenset({"Merge", "RefMerge"})
SWITCH = frozenset({"Switch", "RefSwitch"})
MAX_ITERATIONS = 10_000_000
_NOT_KERNELS = ENTER | EXIT | NEXT | MERGE | SWITCH | {"LoopCond", "Const", "Placeholder"}


def run_dataflow(executor, plan: Plan, feeds: Mapping[TensorKey, Tensor], handed: dict[str, list[Tensor]],
                 backend: Backend) -> _Run:
    """Runs the plan's control flow part (engine.graph.plan), which starts from the feeds and from
    `handed`: the outputs of the prefix nodes it reads, which it takes and frees as it frees its
    own. Its results are read from what it returns."""
    run = _Run(executor, plan, feeds, handed, backend)
    run.run()
    return run


@dataclass
class Wiring:
    """What a run of one plan's dataflow part needs to know about the graph, worked out once per
    plan: who reads each node, how many arrivals each waits for, and where a run starts: the nodes
    it starts from as if fed and those without inputs, in name order."""
    consumers: dict[str, tuple[str, ...]]
    expected: dict[str, int]   # arrivals (one per distinct source) before a node runs
    starts: tuple[str, ...]
    merges: frozenset[str]     # the Merge nodes, whose inputs arrive in their own way (_emit)
    plain: frozenset[str]      # nodes a kernel runs (no control flow op, Const or Placeholder)
    # node -> its readers, for nodes whose readers all are plain and which are neither fetched nor
    # constants: in the root frame their outputs are dropped once every reader has run (_consumed)
    reads: dict[str, int]
    # node -> (backend, attrs, Backend.runner's function), made on the node's first run there
    runners: dict[str, tuple] = field(default_factory=dict)


def _wiring(graph, plan: Plan, kept: set[str]) -> Wiring:
    """`kept`: nodes whose outputs live to the end of the run (fetched, read by the tail, constants)."""
    nodes, fed_nodes = plan.flow.nodes, plan.flow.sources
    consumers: dict[str, list[str]] = defaultdict(list)
    expected: dict[str, int] = {}
    for name in nodes:
        node = graph.nodes[name]
        if name in fed_nodes:
            continue
        sources = {s for s, _ in node.inputs} | set(node.control_inputs)
        for source in sources:
            consumers[source].append(name)
        is_loop_merge = node.op in MERGE and any(graph.nodes[s].op in NEXT for s in sources)
        expected[name] = 1 if is_loop_merge else len(sources)
    starts = tuple(name for name in sorted(nodes) if name in fed_nodes
                   or not graph.nodes[name].inputs and not graph.nodes[name].control_inputs)
    merges = frozenset(name for name in nodes if graph.nodes[name].op in MERGE)
    plain = frozenset(name for name in nodes if graph.nodes[name].op not in _NOT_KERNELS)
    reads = {name: len(users) for name, users in consumers.items()
             if name not in kept and name in nodes and all(user in plain for user in users)}
    return Wiring({name: tuple(users) for name, users in consumers.items()}, expected, starts, merges, plain, reads)


class _Run:
    def __init__(self, executor, plan: Plan, feeds: Mapping[TensorKey, Tensor], handed: dict[str, list[Tensor]],
                 backend: Backend):
        self.executor, self.backend = executor, backend
        self.graph = executor.graph
        self.feeds, self.handed = feeds, handed
        self.fed_nodes = {name for name, _ in feeds}
        if plan.wiring is None:
            plan.wiring = _wiring(self.graph, plan, plan.flow.kept | set(executor.constants))
        self.consumers, self.expected, self.starts = plan.wiring.consumers, plan.wiring.expected, plan.wiring.starts
        self.runners = plan.wiring.runners
        self.outputs: dict[tuple[str, Context], list] = {}
        self.arrived: dict[tuple[str, Context], int] = {}
        self.merges, self.plain = plan.wiring.merges, plan.wiring.plain
        self.unread = dict(plan.wiring.reads)  # readers yet to run in the root frame
        self.keep = set(feeds.values()) | set(executor.constants.values())
        self.ready: deque[tuple[str, Context]] = deque()
        self.scheduled: set[tuple[str, Context]] = set()
        self.constant_enters: dict[tuple[Context, str], list[tuple[str, list]]] = defaultdict(list)
        self.iterations: dict[tuple[Context, str], int] = {}

    # -- driving ----------------------------------------------------------------------------------
    def run(self) -> None:
        constants = self.executor.constants
        for name in self.starts:
            if name in self.handed:  # taken out, so that only the run's outputs hold them
                self._emit(name, (), self.handed.pop(name))
            elif name in self.fed_nodes:
                self._emit(name, (), [self.feeds.get((name, i)) for i in range(_width(self.feeds, name))])
            elif name in constants:  # hundreds in a detector: straight out, not through the queue
                self._emit(name, (), [constants[name]])
            else:
                self._schedule((name, ()))
        steps = 0
        while self.ready:
            steps += 1
            if steps > MAX_ITERATIONS:
                raise GraphError("control flow did not finish within the step limit")
            name, ctx = self.ready.popleft()
            self._execute(self.graph.nodes[name], ctx)

    # -- results, once run --------------------------------------------------------------------------
    def hand_back(self, keys: Iterable[TensorKey]) -> dict[TensorKey, Tensor]:
        """The live root-frame values among `keys`, for their readers after the run: one on an
        untaken branch or never produced is left out, which makes its readers dead in turn."""
        found = {}
        for name, index in keys:
            value = self._value(name, index, ())  # raises for an output its node lacks, as a reader here would
            if value is not None and value is not DEAD:
                found[(name, index)] = value
        return found

    def fetched(self, keys: Iterable[TensorKey]) -> dict[TensorKey, Tensor]:
        """The live root-frame values among fetched `keys`; those left out were not produced."""
        found = {}
        for name, index in keys:
            outputs = self.outputs.get((name, ()))
            if outputs is not None and outputs is not DEAD and index < len(outputs) and outputs[index] is not DEAD:
                found[(name, index)] = outputs[index]
        return found

    def live(self, names: Iterable[str]) -> set[str]:
        """Those of `names` that ran in the root frame and were not dead."""
        return {name for name in names if (outputs := self.outputs.get((name, ()))) is not None and outputs is not DEAD}

    def _emit(self, name: str, ctx: Context, outputs) -> None:
        self.outputs[(name, ctx)] = outputs
        arrived, expected, merges = self.arrived, self.expected, self.merges
        for consumer in self.consumers.get(name, ()):
            key = (consumer, ctx)
            count = arrived[key] = arrived.get(key, 0) + 1
            if consumer in merges:
                # A merge runs on its first live input, or once every input it can get is dead.
                if key not in self.scheduled and (self._has_live_input(self.graph.nodes[consumer], ctx)
                                                  or count >= expected[consumer]):
                    self._schedule(key)
            elif count == expected[consumer]:
                self._schedule(key)

    def _schedule(self, key: tuple[str, Context]) -> None:
        self.scheduled.add(key)
        self.ready.append(key)

    def _has_live_input(self, node: Node, ctx: Context) -> bool:
        return any(v is not None and v is not DEAD for v in (self._value(s, i, ctx) for s, i in node.inputs))

    def _value(self, source: str, index: int, ctx: Context):
        outputs = self.outputs.get((source, ctx))
        if outputs is None:
            return None
        if outputs is DEAD:
            return DEAD
        if index >= len(outputs):
            raise GraphError(f"node {source!r} has no output {index}")
        return outputs[index]

    # -- one node ---------------------------------------------------------------------------------
    def _execute(self, node: Node, ctx: Context) -> None:
        if node.name in self.plain and node.name not in self.executor.constants:
            return self._run_kernel(node, ctx)
        op = node.op
        inputs = [self._value(s, i, ctx) for s, i in node.inputs]
        if op in MERGE:
            return self._merge(node, ctx, inputs)
        dead = any(v is DEAD for v in inputs) or \
            any(self.outputs.get((c, ctx)) is DEAD for c in node.control_inputs)
        if op in ENTER:
            return self._enter(node, ctx, inputs[0])
        if op in EXIT:
            return self._exit(node, ctx, inputs[0])
        if op in NEXT:
            if not ctx:
                raise GraphError(f"NextIteration node {node.name!r} runs outside any loop frame")
            if not dead:
                frame, iteration = ctx[-1]
                self._start_iteration(ctx[:-1], frame, iteration + 1)
                self._emit(node.name, ctx[:-1] + ((frame, iteration + 1),), [_forward(inputs[0])])
            return
        if dead:
            return self._emit(node.name, ctx, DEAD)
        if op in SWITCH:
            data, pred = inputs
            if not isinstance(pred, Tensor) or pred.size != 1:
                raise GraphError(f"Switch node {node.name!r}: the predicate must be a scalar tensor, got "
                                 f"{list(pred.shape) if isinstance(pred, Tensor) else type(pred).__name__}")
            taken = bool(pred.numpy().reshape(()))
            return self._emit(node.name, ctx, [DEAD, _forward(data)] if taken else [_forward(data), DEAD])
        if op == "LoopCond":
            return self._emit(node.name, ctx, [_forward(inputs[0])])
        if op == "Const" or node.name in self.executor.constants:  # a Placeholder bound to a resource
            return self._emit(node.name, ctx, [self.executor.constants[node.name]])
        if op == "Placeholder":
            raise InputError(f"input {node.name!r} is needed but was not given")

    def _run_kernel(self, node: Node, ctx: Context) -> None:
        """A node a kernel runs: its outputs, or DEAD where an input (or a control input) is dead."""
        produced_by = self.outputs
        inputs, dead = [], False
        for source, index in node.inputs:
            produced = produced_by.get((source, ctx))
            if produced is DEAD:
                dead = True
            elif produced is None:
                inputs.append(None)
            elif index < len(produced):
                value = produced[index]
                dead = dead or value is DEAD
                inputs.append(value)
            else:
                raise GraphError(f"node {source!r} has no output {index}")
        dead = dead or any(produced_by.get((c, ctx)) is DEAD for c in node.control_inputs)
        if dead:
            self._emit(node.name, ctx, DEAD)
        else:
            self._emit(node.name, ctx, self._call(node, inputs))
        if not ctx:
            self._consumed(node)

    def _call(self, node: Node, inputs: list) -> list:
        attrs = self.executor.node_attrs(node)
        cached = self.runners.get(node.name)
        if cached is not None and cached[0] is self.backend and cached[1] is attrs:
            outputs = cached[2](inputs)
        else:
            fast = self.backend.runner(node.op, attrs, node.name)
            if fast is not None:  # kept only where the backend has one, as Executor's steps
                self.runners[node.name] = (self.backend, attrs, fast)
                outputs = fast(inputs)
            else:
                outputs = self.backend.run(node.op, inputs, attrs, node=node.name)
        return outputs

    def _consumed(self, node: Node) -> None:
        """`node` has run in the root frame: outputs nothing else will read are dropped (and their
        device storage freed) now, as the step executor frees them, not at the end of the run."""
        for source in {s for s, _ in node.inputs} | set(node.control_inputs):
            left = self.unread.get(source)
            if left is None:
                continue
            if left > 1:
                self.unread[source] = left - 1
                continue
            del self.unread[source]
            produced = self.outputs.get((source, ()))
            if produced is not None and produced is not DEAD:
                self.outputs[(source, ())] = ()  # a read after this is a bug: "has no output"
                for tensor in produced:
                    release(tensor, self.keep)

    def _merge(self, node: Node, ctx: Context, inputs: list) -> None:
        for index, value in enumerate(inputs):
            if value is not None and value is not DEAD:
                return self._emit(node.name, ctx, [_forward(value), tensor(index, "int32")])
        self._emit(node.name, ctx, DEAD)

    def _enter(self, node: Node, ctx: Context, value) -> None:
        frame = node.attrs.get("frame_name")
        if not frame:
            raise GraphError(f"Enter node {node.name!r} has no frame_name")
        outputs = DEAD if value is DEAD else [_forward(value)]
        self.iterations.setdefault((ctx, frame), 0)
        if node.attrs.get("is_constant") and outputs is not DEAD:
            # A loop invariant: visible in every iteration of this frame, present and future.
            self.constant_enters[(ctx, frame)].append((node.name, outputs))
            for iteration in range(self.iterations[(ctx, frame)] + 1):
                self._emit(node.name, ctx + ((frame, iteration),), outputs)
        else:
            self._emit(node.name, ctx + ((frame, 0),), outputs)

    def _start_iteration(self, parent: Context, frame: str, iteration: int) -> None:
        if self.iterations.get((parent, frame), 0) >= iteration:
            return
        if iteration > Limits.max_loop_iterations:
            raise GraphError(f"loop {frame!r} did not end after {Limits.max_loop_iterations} iterations "
                             f"(engine.io.Limits.max_loop_iterations, TFGL_MAX_LOOP_ITERATIONS)")
        self.iterations[(parent, frame)] = iteration
        for name, outputs in self.constant_enters[(parent, frame)]:
            self._emit(name, parent + ((frame, iteration),), outputs)

    def _exit(self, node: Node, ctx: Context, value) -> None:
        if not ctx:
            raise GraphError(f"Exit node {node.name!r} runs outside any loop frame")
        if value is not DEAD:
            return self._emit(node.name, ctx[:-1], [_forward(value)])
        # A dead Exit means "the loop goes on" unless the loop itself is dead (an untaken branch).
        if self._loop_predicate_is_dead(node, ctx):
            self._emit(node.name, ctx[:-1], DEAD)

    def _loop_predicate_is_dead(self, node: Node, ctx: Context) -> bool:
        switch = self.graph.nodes[node.inputs[0][0]]
        if switch.op not in SWITCH:
            return True
        predicate, index = switch.inputs[1]
        return self._value(predicate, index, ctx) is DEAD


def _forward(value):
    """A new handle on a value moving between frames; list/array handles pass as they are."""
    return alias(value) if isinstance(value, Tensor) else value


def _width(feeds: Mapping[TensorKey, Tensor], name: str) -> int:
    return max(i for n, i in feeds if n == name) + 1
