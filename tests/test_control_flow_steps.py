"""Graphs with v1 control flow: the nodes before the first control flow op (the prefix) and after
the last (the tail) run as plain steps, only the part between by the dataflow executor. The
results, errors and frees are those of the all-dataflow run it replaces (kept here as reference:
control_flow_split patched to put every node in the part)."""
import base64
import weakref

import numpy as np
import pytest

import engine
from engine.backends.cpu import CPUBackend
from engine.bench import example_inputs
from engine.errors import GraphError
from engine.graph import dataflow, executor, plan
from engine.graph.model import GraphModel
from engine.io import parse_model_json
from tests.conftest import fixture_path

FLOAT, INT = {"T": {"type": "DT_FLOAT"}}, {"T": {"type": "DT_INT32"}}
CPU_RUNNER = CPUBackend.runner
FRAME = {"frame_name": {"s": base64.b64encode(b"loop").decode()}}
INVARIANT = {**FRAME, "is_constant": {"b": True}}


def const(name: str, value: int) -> dict:
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}, "value": {"tensor": {
        "dtype": "DT_INT32", "tensorShape": {}, "intVal": [value]}}}}


# y = relu(v - total) where sq = x * x, total its row sums, v = sq, then n times v += sq. sq is read
# in the prefix (by total), inside the loop (an invariant) and in the tail (y fuses Sub and Relu).
LOOP_NODES = [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    {"name": "n", "op": "Placeholder", "attr": {"dtype": {"type": "DT_INT32"}}},
    const("zero", 0), const("one", 1), const("last", -1),
    {"name": "sq", "op": "Square", "input": ["x"], "attr": FLOAT},
    {"name": "total", "op": "Sum", "input": ["sq", "last"], "attr": {**FLOAT, "keep_dims": {"b": True}}},
    {"name": "i_enter", "op": "Enter", "input": ["zero"], "attr": {**INT, **FRAME}},
    {"name": "v_enter", "op": "Enter", "input": ["sq"], "attr": {**FLOAT, **FRAME}},
    {"name": "sq_enter", "op": "Enter", "input": ["sq"], "attr": {**FLOAT, **INVARIANT}},
    {"name": "n_enter", "op": "Enter", "input": ["n"], "attr": {**INT, **INVARIANT}},
    {"name": "one_enter", "op": "Enter", "input": ["one"], "attr": {**INT, **INVARIANT}},
    {"name": "i_merge", "op": "Merge", "input": ["i_enter", "i_next"], "attr": INT},
    {"name": "v_merge", "op": "Merge", "input": ["v_enter", "v_next"], "attr": FLOAT},
    {"name": "less", "op": "Less", "input": ["i_merge", "n_enter"], "attr": INT},
    {"name": "cond", "op": "LoopCond", "input": ["less"]},
    {"name": "i_switch", "op": "Switch", "input": ["i_merge", "cond"], "attr": INT},
    {"name": "v_switch", "op": "Switch", "input": ["v_merge", "cond"], "attr": FLOAT},
    {"name": "i_body", "op": "Identity", "input": ["i_switch:1"], "attr": INT},
    {"name": "v_body", "op": "Identity", "input": ["v_switch:1"], "attr": FLOAT},
    {"name": "i_add", "op": "AddV2", "input": ["i_body", "one_enter"], "attr": INT},
    {"name": "v_add", "op": "AddV2", "input": ["v_body", "sq_enter"], "attr": FLOAT},
    {"name": "i_next", "op": "NextIteration", "input": ["i_add"], "attr": INT},
    {"name": "v_next", "op": "NextIteration", "input": ["v_add"], "attr": FLOAT},
    {"name": "v_exit", "op": "Exit", "input": ["v_switch"], "attr": FLOAT},
    {"name": "out", "op": "Sub", "input": ["v_exit", "total"], "attr": FLOAT},
    {"name": "extra", "op": "AddV2", "input": ["out", "sq"], "attr": FLOAT},
    {"name": "y", "op": "Relu", "input": ["extra"], "attr": FLOAT},
]

LOOP_INPUTS = {"x": "DT_FLOAT", "n": "DT_INT32"}


def loop_result(x: np.ndarray, n: int) -> np.ndarray:
    sq = x * x
    return np.maximum((n + 1) * sq - sq.sum(axis=-1, keepdims=True) + sq, 0)


# Conds at the root; y, after them, reads the taken port of a Switch or a dead value on an untaken
# branch, or waits by a control edge for a node on the taken or the untaken branch.
SWITCH_NODES = [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    {"name": "p", "op": "Placeholder", "attr": {"dtype": {"type": "DT_BOOL"}}},
    {"name": "switch", "op": "Switch", "input": ["x", "p"], "attr": FLOAT},
]
READING_A_BRANCH = [*SWITCH_NODES, {"name": "y", "op": "Relu", "input": ["switch:1"], "attr": FLOAT}]
WAITING_FOR_A_BRANCH = [
    *SWITCH_NODES,
    {"name": "then", "op": "Identity", "input": ["switch:1"], "attr": FLOAT},
    {"name": "else", "op": "Identity", "input": ["switch:0"], "attr": FLOAT},
    {"name": "merge", "op": "Merge", "input": ["else", "then"], "attr": FLOAT},
    {"name": "y", "op": "Relu", "input": ["x", "^then"], "attr": FLOAT},
]
SWITCH_INPUTS = {"x": "DT_FLOAT", "p": "DT_BOOL"}


def graph_model(nodes: list[dict], inputs: dict[str, str], backend: str, outputs=("y",)) -> GraphModel:
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {name: {"name": f"{name}:0", "dtype": dtype} for name, dtype in inputs.items()},
                          "outputs": {name: {"name": f"{name}:0"} for name in outputs}}}
    return GraphModel(parse_model_json(data, "."), {}, backend)


def use_all_dataflow(monkeypatch) -> None:
    """Plans made from now on are as before the prefix and tail ran as steps: every needed node in
    the control flow part, none in the tail."""
    def everything(graph, needed, feeds):
        return needed - {name for name, _ in feeds}, set()
    monkeypatch.setattr(plan, "control_flow_split", everything)


def loop_feeds(rng, n: int) -> dict:
    return {"x": rng.normal(size=(2, 3)).astype(np.float32), "n": np.int32(n)}


def test_the_prefix_and_the_tail_run_as_steps_and_the_loop_by_the_dataflow_executor(monkeypatch, rng):
    ran, execute = [], dataflow._Run._execute

    def watched(run, node, ctx):
        ran.append(node.name)
        execute(run, node, ctx)
    monkeypatch.setattr(dataflow._Run, "_execute", watched)
    model = graph_model(LOOP_NODES, LOOP_INPUTS, "cpu")
    model.predict(loop_feeds(rng, 3))
    [the_plan] = model.executor._plans.values()
    prefix = [step.node.name for step in the_plan.steps if step.node.op != "Const"]
    tail = [step.node.name for step in the_plan.flow.tail]
    assert prefix == ["sq", "total"] and tail[-1] == "y"
    assert {"v_add", "v_merge", "v_exit", "less"} <= set(ran)
    assert not set(ran) & set(prefix + tail)
    assert ran.count("v_add") == 3 + 1  # and once dead, as the loop ends


@pytest.mark.parametrize("n", [0, 1, 3])
def test_a_value_read_in_the_prefix_inside_the_loop_and_in_the_tail_stays_valid(backend, rng, n):
    model = graph_model(LOOP_NODES, LOOP_INPUTS, backend)
    for _ in range(2):  # the second call reuses the plan, its runners and the dataflow wiring
        feeds = loop_feeds(rng, n)
        np.testing.assert_allclose(model.predict(feeds), loop_result(feeds["x"], n), rtol=1e-6)


def fixture_calls(name: str, rng) -> list[dict]:
    model = engine.load_graph_model(fixture_path(name), backend="cpu")
    if name == "loop_cf1":
        return [loop_feeds(rng, n) | {"x": rng.normal(size=(rows, 4)).astype(np.float32)}
                for rows, n in ((3, 0), (2, 1), (1, 4))]
    return [example_inputs(model, seed) for seed in range(2)]


@pytest.mark.parametrize("name", ["loop_cf1", "lstm_cf1", "loop_cf2", "lstm_cf2"])
def test_fixture_outputs_are_those_of_the_all_dataflow_run(backend, rng, monkeypatch, name):
    calls = fixture_calls(name, rng)
    got = [engine.load_graph_model(fixture_path(name), backend=backend).predict(feeds) for feeds in calls]
    use_all_dataflow(monkeypatch)
    reference = engine.load_graph_model(fixture_path(name), backend=backend)
    for feeds, outputs in zip(calls, got):
        want = reference.predict(feeds)
        assert type(outputs) is type(want)
        for key in want if isinstance(want, dict) else [...]:
            np.testing.assert_array_equal(outputs[key], want[key])


@pytest.mark.parametrize("nodes, outputs", [(READING_A_BRANCH, ("y",)), (WAITING_FOR_A_BRANCH, ("y", "merge"))],
                         ids=["reading", "waiting"])
@pytest.mark.parametrize("taken", [True, False])
def test_a_tail_node_after_an_untaken_branch_fails_as_before(backend, monkeypatch, nodes, outputs, taken):
    feeds = {"x": np.array([-1.0, 2.0], np.float32), "p": np.array(taken)}

    def outcome(tail: list[str]):
        model = graph_model(nodes, SWITCH_INPUTS, backend, outputs)
        try:
            return model.predict(feeds)
        except GraphError as error:
            return str(error)
        finally:
            [the_plan] = model.executor._plans.values()
            assert [step.node.name for step in the_plan.flow.tail] == tail
    got = outcome(["y"])
    use_all_dataflow(monkeypatch)
    want = outcome([])
    if taken:
        got, want = (result if isinstance(result, dict) else {"y": result} for result in (got, want))
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
        np.testing.assert_array_equal(got["y"], np.maximum(feeds["x"], 0))
    else:
        assert got == want and "untaken branch" in got


class Lifetimes:
    """Watches one model's runs on the CPU: how many kernel outputs are alive before each kernel
    runs (their peak), and for each output how many kernels had run when its last reader ran and
    when it was released."""

    def __init__(self, monkeypatch):
        self.alive: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # output -> (node, index)
        self.kernels, self.peak, self.last_read, self.released = 0, 0, {}, {}

        def runner(backend, op, attrs, node):
            fast = CPU_RUNNER(backend, op, attrs, node) or (lambda inputs: backend.run(op, inputs, attrs, node=node))

            def run(inputs):
                self.peak = max(self.peak, len(self.alive))
                outputs = fast(inputs)
                self.kernels += 1
                for tensor in inputs:
                    if tensor in self.alive:
                        self.last_read[self.alive[tensor]] = self.kernels
                for index, tensor in enumerate(outputs):
                    if isinstance(tensor, engine.tensors.Tensor):
                        self.alive[tensor] = (node, index)
                return outputs
            return run
        monkeypatch.setattr(CPUBackend, "runner", runner)
        for module in (dataflow, executor):
            monkeypatch.setattr(module, "release", self._release)

    def _release(self, tensor, keep) -> None:
        if tensor in self.alive and tensor not in keep:  # else release leaves it be
            self.released.setdefault(self.alive[tensor], self.kernels)
        plan.release(tensor, keep)


@pytest.mark.parametrize("name", ["loop_cf1", "lstm_cf1", "handmade"])
def test_tensors_are_released_no_later_than_in_the_all_dataflow_run(monkeypatch, rng, name):
    """No more kernel outputs alive at once; every output the all-dataflow run released right
    after its last reader is released so too (before another kernel runs)."""
    feeds = loop_feeds(rng, 3) if name == "handmade" else fixture_calls(name, rng)[0]
    monkeypatch.setattr(CPUBackend, "folds_static_values", False)  # its recordings keep their values by design

    def watch() -> Lifetimes:
        lifetimes = Lifetimes(monkeypatch)
        model = graph_model(LOOP_NODES, LOOP_INPUTS, "cpu") if name == "handmade" else \
            engine.load_graph_model(fixture_path(name), backend="cpu")
        model.predict(feeds)
        return lifetimes
    now = watch()
    use_all_dataflow(monkeypatch)
    before = watch()
    assert now.kernels == before.kernels and before.released
    assert now.peak <= before.peak
    for key in before.released:
        assert before.released[key] == before.last_read[key], key
        assert now.released.get(key) == now.last_read[key], key
