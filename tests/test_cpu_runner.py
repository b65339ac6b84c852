"""The CPU backend's per-step runners (CPUBackend.runner), which executors keep in their plans: they
give what Backend.run gives, for whatever shapes and dtypes each call brings, and leave everything
unusual (gradient tapes, profiling, bad attrs) to Backend.run."""
import warnings

import numpy as np
import pytest

import engine
from engine.backends.base import Backend
from engine.backends.cpu import CPUBackend
from engine.errors import AttrError, KernelError
from engine.graph.model import GraphModel
from engine.io import parse_model_json
from tests.conftest import fixture_path

FLOAT = {"T": {"type": "DT_FLOAT"}}


def model(nodes: list[dict], output: str) -> GraphModel:
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}}, *nodes]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"y": {"name": f"{output}:0"}}}}
    return GraphModel(parse_model_json(data, "."), {}, "cpu")


SQUARE_SUM = [{"name": "sq", "op": "Square", "input": ["x"], "attr": FLOAT},
              {"name": "axis", "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}, "value": {"tensor": {
                  "dtype": "DT_INT32", "tensorShape": {}, "intVal": [-1]}}}},
              {"name": "sum", "op": "Sum", "input": ["sq", "axis"], "attr": FLOAT},
              {"name": "y", "op": "Reciprocal", "input": ["sum"], "attr": FLOAT}]


def test_runners_follow_changing_shapes_and_are_made_once(rng):
    net = model(SQUARE_SUM, "y")
    shapes = [(3, 4), (5,), (2, 3, 7), (3, 4), (0, 2)]
    for shape in shapes:
        x = rng.normal(size=shape).astype(np.float32)
        np.testing.assert_array_equal(net.predict(x), np.reciprocal(np.sum(np.square(x), axis=-1)))
    [plan] = net.executor._plans.values()
    runners = [step.runner for step in plan.steps if step.node.op != "Const"]
    assert all(r is not None and r[0] is engine.get_backend("cpu") for r in runners)
    net.predict(np.ones(3, np.float32))
    assert [step.runner for step in plan.steps if step.node.op != "Const"] == runners


def test_no_floating_point_warnings_inside_or_outside_a_session():
    net = model(SQUARE_SUM, "y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(net.predict(np.zeros((1, 2), np.float32))).all()  # 1 / 0
        feeds = {("x", 0): engine.tensors.Tensor(np.zeros((1, 2), np.float32), "float32")}
        [out] = net.executor.run(feeds, [("y", 0)], engine.get_backend("cpu"))  # no session around it
        assert np.isinf(out.numpy()).all()


def test_profiling_goes_through_run():
    net = model(SQUARE_SUM, "y")
    net.predict(np.ones((2, 2), np.float32))  # the runners are made
    backend = engine.get_backend("cpu")
    backend.profile = {}
    try:
        net.predict(np.ones((2, 2), np.float32))
        assert {"Square", "Sum", "Reciprocal"} <= set(backend.profile)
    finally:
        backend.profile = None


def test_errors_name_the_node():
    bad_attr = model([{"name": "y", "op": "Relu", "input": ["x"], "attr": {**FLOAT, "alpha": {"s": "eA=="}}},
                      {"name": "z", "op": "LeakyRelu", "input": ["y"], "attr": {**FLOAT, "alpha": {"s": "eA=="}}}], "z")
    with pytest.raises(AttrError, match="'z'"):
        bad_attr.predict(np.ones(2, np.float32))
    mismatch = model([{"name": "r", "op": "MatMul", "input": ["x", "x"], "attr": FLOAT}], "r")
    mismatch.predict(np.ones((2, 2), np.float32))  # the runner is made
    with pytest.raises(KernelError, match="node 'r' \\(MatMul\\)"):
        mismatch.predict(np.ones((2, 3), np.float32))


def test_the_dataflow_executor_keeps_runners_across_shapes_and_loop_counts(monkeypatch, rng):
    """A v1 while loop (tests/fixtures/loop_cf1): runners made on the first call serve later calls
    of other shapes and iteration counts, with the results of Backend.run."""
    fast = engine.load_graph_model(fixture_path("loop_cf1"), backend="cpu")
    calls = [(rng.normal(size=(rows, 4)).astype(np.float32), np.int32(n))
             for rows, n in ((2, 3), (5, 1), (1, 6), (2, 3))]
    results = [fast.predict({"x": x, "n": n}) for x, n in calls]
    [plan] = fast.executor._plans.values()
    assert plan.dataflow and plan.wiring.runners
    monkeypatch.setattr(CPUBackend, "runner", Backend.runner)  # every node through Backend.run
    plain = engine.load_graph_model(fixture_path("loop_cf1"), backend="cpu")
    for (x, n), got in zip(calls, results):
        want = plain.predict({"x": x, "n": n})
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_the_dataflow_executor_frees_root_frame_outputs_after_their_last_reader(monkeypatch, rng):
    """Outputs only kernels read are released once the last has run, never a fetched one; the results
    stay those of a run that frees nothing. (Root-frame nodes outside the loop run as steps, which
    release through the executor.)"""
    from engine.graph import dataflow, executor
    model = engine.load_graph_model(fixture_path("loop_cf1"), backend="cpu")
    feeds = {"x": rng.normal(size=(3, 4)).astype(np.float32), "n": np.int32(2)}
    for module in (dataflow, executor):
        monkeypatch.setattr(module, "release", lambda tensor, keep: None)
    want = model.predict(feeds)
    released = []
    for module in (dataflow, executor):
        monkeypatch.setattr(module, "release", lambda tensor, keep: released.append(tensor))
    got = model.predict(feeds)
    assert released
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
    [plan] = model.executor._plans.values()
    fetched = {info.key[0] for info in model.outputs}
    assert not fetched & set(plan.wiring.reads)
