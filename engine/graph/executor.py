"""Runs a graph (the model's or a library function's) on a backend, one cached plan per
(feeds, fetches) pair: steps in order, and for v1 control flow the dataflow executor between
the steps before it and those after it (engine.graph.plan)."""
from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from engine import dtypes, tape
from engine.backends.base import Backend
from engine.errors import GraphError, InputError
from engine.graph.dataflow import run_dataflow
from engine.graph.graph import Function, Graph, Node
from engine.graph.plan import Plan, Step, TensorKey, build_plan, release, sources
from engine.graph.static_values import Folding, StaticValues, mark_static
from engine.io.graph_def import FuncRef
from engine.kernels.cpu.hash_table import RESOURCE_OPS, Resources
from engine.tensors import Tensor

# Ops whose kernels call library functions; the executor hands them the runtime.
FUNCTION_CALLING_OPS = frozenset({"While", "StatelessWhile", "If", "StatelessIf", "PartitionedCall",
                                  "StatefulPartitionedCall"})


def constant_tensor(node: Node, weights: Mapping[str, np.ndarray]) -> Tensor:
    """The value of a Const node: from the weights (official converter output) or its `value` attr."""
    if node.name in weights:
        array = weights[node.name]
    elif isinstance(node.attrs.get("value"), np.ndarray):
        array = node.attrs["value"]
    else:
        raise GraphError(f"Const node {node.name!r} has no value: not in the weights and no 'value' attr")
    dtype = dtypes.storage_dtype(node.attrs["dtype"]) if isinstance(node.attrs.get("dtype"), str) \
        else dtypes.dtype_of_array(array)
    stored = dtypes.to_storage(array, dtype).view()
    stored.flags.writeable = False  # it holds for the model's life: no kernel or caller may write into it
    value = Tensor(stored, dtype)
    value.constant = True
    return value


class Executor:
    """Executes one graph. Thread-safe: plans are built under a lock, runs keep their state local.

    `bound`: Placeholders whose value is fixed for the model's life, the resources a converted
    TF2 model captures (a hash table its initializer graph made); they are no inputs of a run."""

    def __init__(self, graph: Graph, weights: Mapping[str, np.ndarray], library: Library,
                 bound: Mapping[str, Any] | None = None):
        self.graph = graph
        self.library = library
        self.constants = {node.name: constant_tensor(node, weights)
                          for node in graph.nodes.values() if node.op == "Const"}
        self.constants.update(bound or {})
        self._plans: dict[tuple, Plan] = {}
        self._static = StaticValues()
        self._lock = threading.Lock()

    def node_attrs(self, node: Node) -> dict[str, Any]:
        if node.op in FUNCTION_CALLING_OPS:
            return {**node.attrs, "runtime": self.library}
        if node.op in RESOURCE_OPS:
            return {**node.attrs, "resources": self.library.resources, "node_name": node.name}
        return node.attrs

    def plan(self, feeds: Sequence[TensorKey], fetches: Sequence[TensorKey], targets: Sequence[str] = ()) -> Plan:
        key = (frozenset(feeds), tuple(fetches), tuple(targets))
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    self._check_keys(feeds, fetches)
                    plan = build_plan(self.graph, set(feeds), list(fetches), self.node_attrs, tuple(targets))
                    fed = {name for name, _ in feeds}  # a fed Const takes the caller's values
                    mark_static(plan.steps + (plan.flow.tail if plan.flow else []), self.constants.keys() - fed,
                                {name for name, _ in fetches})
                    self._plans[key] = plan
        return plan

    def _check_keys(self, feeds: Sequence[TensorKey], fetches: Sequence[TensorKey]) -> None:
        for kind, keys in (("input", feeds), ("output", fetches)):
            for name, _ in keys:
                if name not in self.graph.nodes:
                    raise InputError(f"unknown {kind} {name!r}: the graph has no such node")

    def workload(self, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey]) -> Hashable:
        """What a run of this graph computes: the feeds' shapes and dtypes and the fetches. Backends tune
        per workload (Backend.session); replays keep one recording per workload (engine.graph.replay)."""
        return id(self), tuple((key, tensor.shape, tensor.dtype) for key, tensor in feeds.items()), tuple(fetches)

    def run(self, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey], backend: Backend,
            targets: Sequence[str] = ()) -> list[Tensor]:
        plan = self.plan(list(feeds), fetches, targets)
        keep = set(feeds.values()) | set(self.constants.values())
        values: dict[TensorKey, Tensor] = dict(feeds)
        folding = self._folding(feeds, fetches, targets, backend)
        try:
            self._run_steps(plan.steps, values, backend, keep, folding)
            if plan.flow is not None:
                self._run_control_flow(plan, feeds, values, fetches, backend, keep, folding)
            missing = [f"{n}:{i}" for n, i in fetches if (n, i) not in values]
            if missing and plan.flow is not None:
                raise GraphError(f"output {missing[0]} was not produced (it lies on an untaken branch)")
            if missing:
                raise GraphError(f"output(s) {', '.join(missing)} were not produced")
            results = [values[key] for key in fetches]
            if folding is not None:
                results = folding.private(results)
        except BaseException:
            _release_all(values, keep)
            raise
        keep.update(results)
        _release_all(values, keep)  # outputs nobody read
        if folding is not None:
            self._static.finish(folding)
        return results

    def _folding(self, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey], targets: Sequence[str],
                 backend: Backend) -> Folding | None:
        """This run's use of its workload's static values (engine.graph.static_values), if the backend
        folds them, no gradient tape listens (a tape records the ops that run) and every feed is a
        tensor (a loop body's TensorList has no shape to key a workload by)."""
        if not backend.folds_static_values or tape.listening_tapes() \
                or not all(type(tensor) is Tensor for tensor in feeds.values()):
            return None
        return self._static.start(backend, (self.workload(feeds, fetches), tuple(targets)))

    def _run_steps(self, steps: list[Step], values: dict[TensorKey, Tensor], backend: Backend, keep: set,
                   folding: Folding | None) -> None:
        for step in steps:
            node = step.node
            if node.name in self.constants:  # a Const, or a Placeholder bound to a resource
                values.setdefault((node.name, 0), self.constants[node.name])
                continue
            if node.op == "Placeholder":
                raise InputError(f"input {node.name!r} is needed but was not given")
            try:
                inputs = [values[key] for key in step.input_keys]
            except KeyError:
                inputs = [_input(values, key, node.name) for key in step.input_keys]  # says which
            outputs = folding.take(step, inputs) if step.static and folding is not None else None
            if outputs is None:
                runner = step.runner
                outputs = (runner[1] if runner is not None and runner[0] is backend else _runner(step, backend))(inputs)
                if step.static and folding is not None:
                    folding.remember(step, inputs, outputs)
            name = node.name
            for index, out in enumerate(outputs):
                values[(name, index)] = out
            for key in step.frees:
                release(values.pop(key, None), keep)

    def _run_control_flow(self, plan: Plan, feeds: Mapping[TensorKey, Tensor], values: dict[TensorKey, Tensor],
                          fetches: Sequence[TensorKey], backend: Backend, keep: set, folding: Folding | None) -> None:
        """After the prefix's steps: the control flow part by the dataflow executor, then the tail's steps."""
        flow = plan.flow
        handed = {name: _outputs(values, name, taken=name not in flow.kept) for name in flow.handover}
        run = run_dataflow(self, plan, feeds, handed, backend)  # which empties `handed`
        values.update(run.fetched(key for key in fetches if key not in values))  # the part's
        values.update(run.hand_back(flow.handback))
        dead = flow.awaited - run.live(flow.awaited)
        del run  # what else it holds is freed before the tail runs
        tail = flow.tail if not dead and all(key in values for key in flow.handback) else \
            _live_steps(flow.tail, values, dead)
        self._run_steps(tail, values, backend, keep, folding)


def _outputs(values: dict[TensorKey, Tensor], name: str, taken: bool) -> list[Tensor]:
    """A node's outputs among `values` (its step stored them all), taken out of them if `taken`."""
    outputs, index = [], 0
    while (name, index) in values:
        outputs.append(values.pop((name, index)) if taken else values[(name, index)])
        index += 1
    return outputs


def _live_steps(steps: list[Step], values: dict[TensorKey, Tensor], dead: set[str]) -> list[Step]:
    """The tail's steps that run when some value it reads from the control flow part is on an untaken
    branch or was never produced, as in the dataflow executor: a node that would read one, or wait
    for a `dead` node, does not run, and neither do its readers."""
    ours = {step.node.name for step in steps}
    dead, live = set(dead), []
    for step in steps:
        node = step.node
        missing = any(key[0] not in ours and key not in values for key in step.input_keys)
        if missing or any(name in dead for name in sources(node)):
            dead.add(node.name)
        else:
            live.append(step)
    return live


def _release_all(values: dict[TensorKey, Tensor], keep: set) -> None:
    for tensor in values.values():
        release(tensor, keep)


def _runner(step: Step, backend: Backend):
    """The step's function inputs -> outputs on this backend: Backend.runner's, kept in the step
    (only a backend that has one is kept alive by the plan), else backend.run."""
    cached = step.runner
    if cached is not None and cached[0] is backend:
        return cached[1]
    node = step.node
    fast = backend.runner(node.op, step.attrs, node.name)
    if fast is None:
        return lambda inputs: backend.run(node.op, inputs, step.attrs, node=node.name)
    step.runner = (backend, fast)
    return fast


def _input(values: dict, key: TensorKey, node: str) -> Tensor:
    try:
        return values[key]
    except KeyError:
        raise GraphError(f"node {node!r} reads {key[0]}:{key[1]}, an output {key[0]!r} does not produce") from None


class Library:
    """The model's function library; what function-calling kernels receive as `runtime`. It also
    holds the model's Resources (hash tables), which outlive every run."""

    def __init__(self, functions: Mapping[str, Function], weights: Mapping[str, np.ndarray], backend_of,
                 resources: Resources | None = None):
        self.functions = functions
        self.resources = resources if resources is not None else Resources()
        self._weights = weights
        self._executors: dict[str, Executor] = {}
        self._backend_of = backend_of
        self._lock = threading.Lock()

    def executor(self, name: str) -> tuple[Function, Executor]:
        if name not in self.functions:
            raise GraphError(f"function {name!r} is not in the model's library")
        with self._lock:
            if name not in self._executors:
                self._executors[name] = Executor(self.functions[name].graph, self._weights, self)
        return self.functions[name], self._executors[name]

    def call(self, func: FuncRef | str, inputs: Sequence[Tensor]) -> list[Tensor]:
        name = func.name if isinstance(func, FuncRef) else func
        function, executor = self.executor(name)
        if len(inputs) != len(function.arg_names):
            raise GraphError(f"function {name!r} takes {len(function.arg_names)} arguments, got {len(inputs)}")
        feeds = {(arg, 0): tensor for arg, tensor in zip(function.arg_names, inputs)}
        return executor.run(feeds, function.outputs, self._backend_of())
