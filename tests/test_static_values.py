"""Static values (engine.graph.static_values): a workload's later runs take the shape arithmetic its
first run computed instead of running those steps; a shape that depends on values (Where) is
guarded, so the results are always what running every step gives."""
import numpy as np
import pytest

import engine
from engine.graph import static_values
from engine.graph.model import GraphModel
from engine.io import parse_model_json

FLOAT, INT = {"T": {"type": "DT_FLOAT"}}, {"T": {"type": "DT_INT32"}}


def const(name: str, values: list[int]) -> dict:
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_INT32"}, "value": {"tensor": {
        "dtype": "DT_INT32", "tensorShape": {"dim": [{"size": str(len(values))}]}, "intVal": values}}}}


def first_of(name: str, vector: str) -> list[dict]:
    """name = vector[0], a scalar."""
    return [{"name": name, "op": "StridedSlice", "input": [vector, "zero", "one", "one"],
             "attr": {**INT, "Index": {"type": "DT_INT32"}, "shrink_axis_mask": {"i": "1"}}}]


# y = x reshaped to (len(x), -1); count = the number of positive values of x, as the sum of a Fill
# whose shape is Where's (its row count depends on the values)
NODES = [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    const("zero", [0]), const("one", [1]), const("minus_one", [-1]),
    {"name": "shape", "op": "Shape", "input": ["x"], "attr": {**FLOAT, "out_type": {"type": "DT_INT32"}}},
    *first_of("rows", "shape"),
    {"name": "rows_vector", "op": "Reshape", "input": ["rows", "one"], "attr": {**INT, "Tshape": {"type": "DT_INT32"}}},
    {"name": "target", "op": "ConcatV2", "input": ["rows_vector", "minus_one", "zero"],
     "attr": {**INT, "N": {"i": "2"}, "Tidx": {"type": "DT_INT32"}}},
    {"name": "y", "op": "Reshape", "input": ["x", "target"], "attr": {**FLOAT, "Tshape": {"type": "DT_INT32"}}},
    {"name": "zero_f", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {
        "dtype": "DT_FLOAT", "tensorShape": {}, "floatVal": [0.0]}}}},
    {"name": "positive", "op": "Greater", "input": ["x", "zero_f"], "attr": FLOAT},
    {"name": "where", "op": "Where", "input": ["positive"], "attr": {"T": {"type": "DT_BOOL"}}},
    {"name": "where_shape", "op": "Shape", "input": ["where"], "attr": {"T": {"type": "DT_INT64"},
                                                                         "out_type": {"type": "DT_INT32"}}},
    *first_of("found", "where_shape"),
    {"name": "found_vector", "op": "Reshape", "input": ["found", "one"],
     "attr": {**INT, "Tshape": {"type": "DT_INT32"}}},
    {"name": "one_f", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {
        "dtype": "DT_FLOAT", "tensorShape": {}, "floatVal": [1.0]}}}},
    {"name": "ones", "op": "Fill", "input": ["found_vector", "one_f"],
     "attr": {**FLOAT, "index_type": {"type": "DT_INT32"}}},
    {"name": "count", "op": "Sum", "input": ["ones", "zero"], "attr": {**FLOAT, "Tidx": {"type": "DT_INT32"}}},
]
STATIC = {"shape", "rows", "rows_vector", "target", "where_shape", "found", "found_vector", "ones", "count"}


def model(outputs: dict[str, str], backend: str = "cpu") -> GraphModel:
    data = {"format": "graph-model", "modelTopology": {"node": NODES}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}},
                          "outputs": {key: {"name": f"{name}:0"} for key, name in outputs.items()}}}
    return GraphModel(parse_model_json(data, "."), {}, backend)


def expected(x: np.ndarray) -> dict:
    return {"y": x.reshape(len(x), -1), "count": np.float32((x > 0).sum())}


def recordings(net: GraphModel) -> dict:
    return net.executor._static.of(net.backend)


def plan_of(net: GraphModel):
    [plan] = net.executor._plans.values()
    return plan


def test_shape_arithmetic_is_static_but_not_what_is_fetched(rng):
    net = model({"y": "y", "count": "count"})
    net.predict(rng.normal(size=(3, 4)).astype(np.float32))
    assert {step.node.name for step in plan_of(net).steps if step.static} == STATIC - {"count"}


def test_later_runs_take_the_recorded_values_instead_of_running_their_steps(rng):
    net = model({"y": "y"})
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(net.predict(x), x.reshape(3, -1))

    def never(_inputs):
        raise AssertionError("a static step ran again")
    backend = engine.get_backend("cpu")
    for step in plan_of(net).steps:
        if step.static:
            step.runner = (backend, never)
    other = rng.normal(size=(3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(net.predict(other), other.reshape(3, -1))
    with pytest.raises(AssertionError, match="ran again"):  # new shapes: a new workload, recorded anew
        net.predict(rng.normal(size=(5, 2)).astype(np.float32))


def test_a_shape_that_depends_on_values_is_guarded_and_recorded_anew(rng):
    net = model({"y": "y", "count": "count"})
    inputs = [rng.normal(size=(6, 5)).astype(np.float32) for _ in range(4)]
    inputs.append(np.abs(inputs[0]))  # all positive: Where finds more rows than before
    inputs += [inputs[0], inputs[-1]]
    for x in inputs:
        got = net.predict(x)
        for key, want in expected(x).items():
            np.testing.assert_array_equal(got[key], want)
    assert len(recordings(net)) == 1  # the last run recorded for the shapes they share


def test_the_caller_may_write_into_a_fetched_view_of_a_static_value(rng):
    net = model({"target": "target"})
    x = rng.normal(size=(3, 4)).astype(np.float32)
    first = net.predict(x)
    np.testing.assert_array_equal(first, [3, -1])
    first[:] = 99
    np.testing.assert_array_equal(net.predict(x), [3, -1])


def test_a_failed_run_records_nothing(rng):
    net = model({"y": "y"})
    plan = net.executor.plan([("x", 0)], [("y", 0)])
    [reshape] = [step for step in plan.steps if step.node.name == "y"]

    def fail(_inputs):
        raise RuntimeError("the kernel failed")
    reshape.runner = (engine.get_backend("cpu"), fail)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    with pytest.raises(RuntimeError, match="kernel failed"):
        net.predict(x)
    assert not recordings(net)
    reshape.runner = None
    np.testing.assert_array_equal(net.predict(x), x.reshape(3, -1))
    assert len(recordings(net)) == 1


def test_backends_with_device_storage_do_not_fold(rng):
    net = model({"y": "y"}, backend="webgl")
    x = rng.normal(size=(3, 4)).astype(np.float32)
    for _ in range(3):
        np.testing.assert_array_equal(net.predict(x), x.reshape(3, -1))
    assert not recordings(net)


def test_each_backend_keeps_recordings_of_its_own(rng):
    """The conformance report's float64 backend computes the Fill in float64: the CPU backend's run
    after it must not take that."""
    from engine.conformance.capture import Float64CPUBackend
    net = model({"y": "y", "count": "count"})
    x = rng.normal(size=(4, 3)).astype(np.float32)
    wide = Float64CPUBackend()
    net.run_on(wide, x)
    net.run_on(wide, x)
    got = net.predict(x)
    assert got["count"].dtype == np.float32 and got["count"] == expected(x)["count"]
    assert len(net.executor._static.of(wide)) == 1 and len(recordings(net)) == 1


def test_steps_reading_a_fed_constant_are_not_static(rng):
    net = model({"count": "count"})
    x = np.array([1.0, -1.0, 2.0], np.float32)
    counts = [net.execute({"x": x, "one_f": np.float32(value)}, "count") for value in (2, 3, 5)]
    assert counts == [4.0, 6.0, 10.0]


def test_big_static_values_are_not_kept(rng, monkeypatch):
    """A Fill of a big shape runs on every call rather than stay in memory for each workload; the
    static values after it are still taken."""
    monkeypatch.setattr(static_values, "MAX_RECORDED_BYTES", 8)  # more than a shape, less than the ones
    net = model({"y": "y", "count": "count"})
    x = rng.normal(size=(6, 5)).astype(np.float32)
    for _ in range(3):
        got = net.predict(x)
        np.testing.assert_array_equal(got["count"], expected(x)["count"])
    [recording] = recordings(net).values()
    assert "ones" not in recording.outputs and {"shape", "target", "found_vector"} <= set(recording.outputs)
