"""Load-time fusion of elementwise chains (engine/graph/fuse_elementwise.py): which nodes fuse, and a
fused model computes what the unfused one does, on the CPU backend only."""
import numpy as np
import pytest

from engine.backends.cpu import CPUBackend
from engine.backends.webgl import WebGLBackend
from engine.graph.fuse_elementwise import fuse_elementwise_chains
from engine.graph.graph import Graph, Node
from engine.graph.model import GraphModel
from engine.kernels.cpu import elementwise_chain
from engine.io import parse_model_json

FLOAT = {"T": {"type": "DT_FLOAT"}}


def _node(name, op, inputs=(), **attr):
    return {"name": name, "op": op, "input": list(inputs), "attr": {**FLOAT, **attr}}


def hard_swish_model(extra_reader: bool = False) -> dict:
    """y = relu(x) -> x * (1/6) * relu6(x + 3) -> + x; `extra_reader`: relu6's result is an output too."""
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "sixth", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "three", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             _node("relu", "Relu", ["x"]), _node("scaled", "Mul", ["sixth", "relu"]),
             _node("shifted", "AddV2", ["relu", "three"]), _node("gate", "Relu6", ["shifted"]),
             _node("swish", "Mul", ["scaled", "gate"]), _node("out", "Square", ["swish"])]
    outputs = {"out": {"name": "out:0"}}
    if extra_reader:
        outputs["gate"] = {"name": "gate:0"}
    return {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": outputs}}


WEIGHTS = {"sixth": np.float32(1 / 6), "three": np.full(8, 3, np.float32)}


def load(data, fuse: bool, monkeypatch) -> GraphModel:
    monkeypatch.setattr(CPUBackend, "fuses_elementwise", fuse)
    return GraphModel(parse_model_json(data, "."), WEIGHTS, "cpu")


@pytest.mark.parametrize("shape", [(1, 40, 40, 8), (2, 3, 8)])
def test_a_fused_model_computes_what_the_unfused_one_does(monkeypatch, rng, shape):
    fused, plain = load(hard_swish_model(), True, monkeypatch), load(hard_swish_model(), False, monkeypatch)
    ops = [node.op for node in fused.executor.graph.nodes.values()]
    assert ops.count("_FusedElementwise") == 1 and not {"Relu", "Mul", "AddV2", "Relu6"} & set(ops)
    [node] = [n for n in fused.executor.graph.nodes.values() if n.op == "_FusedElementwise"]
    assert node.name == "swish" and node.inputs == [("x", 0), ("sixth", 0), ("three", 0)]
    assert node.attrs["program"] == ["Relu 0", "Mul 1 3", "AddV2 3 2", "Relu6 5", "Mul 4 6"]
    x = rng.normal(0, 4, shape).astype(np.float32)
    x.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    np.testing.assert_array_equal(fused.predict(x), plain.predict(x))
    # an intermediate fused away is still fetchable, from the unfused graph
    np.testing.assert_array_equal(fused.execute(x, "gate"), plain.execute(x, "gate"))


def test_outputs_and_shared_intermediates_stay(monkeypatch):
    model = load(hard_swish_model(extra_reader=True), True, monkeypatch)
    nodes = model.executor.graph.nodes
    assert nodes["relu"].op == "Relu"  # read by two groups
    assert nodes["gate"].op == "_FusedElementwise" and nodes["gate"].attrs["program"] == ["AddV2 0 1", "Relu6 2"]
    assert nodes["swish"].op == "_FusedElementwise" and "scaled" not in nodes and "shifted" not in nodes
    assert set(nodes["swish"].inputs) == {("sixth", 0), ("relu", 0), ("gate", 0)}


def test_control_edges_other_types_and_single_ops_are_left_alone():
    const = Node("c", "Const", [], [], {"dtype": "float32"})
    x = Node("x", "Placeholder", [], [], {"dtype": "float32"})
    nodes = [x, const, Node("a", "Add", [("x", 0), ("c", 0)], [], {"T": "float32"}),
             Node("b", "Relu", [("a", 0)], ["x"], {"T": "float32"}),                   # a control input
             Node("i", "Cast", [("b", 0)], [], {"DstT": "int32"}),
             Node("j", "Add", [("i", 0), ("i", 0)], [], {"T": "int32"}),
             Node("k", "Neg", [("j", 0)], [], {"T": "int32"}),                         # integers
             Node("f", "Cast", [("k", 0)], [], {"DstT": "float32"}),
             Node("g", "Neg", [("f", 0)], [], {"T": "float32"})]                       # a lone op
    graph = Graph(nodes)
    assert fuse_elementwise_chains(graph) is graph


def test_only_the_cpu_backend_fuses():
    assert CPUBackend.fuses_elementwise and not WebGLBackend.fuses_elementwise


def test_a_cycle_is_not_fused():
    """Left for the executor, which refuses it (test_graph.py)."""
    nodes = [Node("x", "Placeholder", [], [], {"dtype": "float32"}),
             Node("a", "AddV2", [("x", 0), ("b", 0)], [], {"T": "float32"}),
             Node("b", "Relu", [("a", 0)], [], {"T": "float32"})]
    graph = Graph(nodes)
    assert fuse_elementwise_chains(graph) is graph


def test_a_caller_writing_into_a_per_channel_operand_between_calls_gets_new_results(monkeypatch):
    """The chain's constant rows are made once per distinct values; a fed array the caller changes in
    place is not the array it was (model inputs are copied, and the rows are keyed by value)."""
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             {"name": "s", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
             _node("m", "Mul", ["x", "s"]), _node("a", "Add", ["m", "s"]), _node("r", "Relu", ["a"])]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "signature": {"inputs": {"x": {"name": "x:0"}, "s": {"name": "s:0"}}, "outputs": {"r": {"name": "r:0"}}}}
    net = load(data, True, monkeypatch)
    assert any(node.op == "_FusedElementwise" for node in net.executor.graph.nodes.values())
    x = np.abs(np.random.default_rng(0).standard_normal((1, 16, 16, 32))).astype(np.float32)
    s = np.ones(32, np.float32)
    np.testing.assert_allclose(net.predict({"x": x, "s": s}), x + 1)
    s[:] = 2
    np.testing.assert_allclose(net.predict({"x": x, "s": s}), x * 2 + 2)
    fused = elementwise_chain.fused_elementwise
    program = ["Mul 0 1", "Add 2 1", "Relu 3"]
    np.testing.assert_allclose(fused(x, s, program=program), x * 2 + 2)
    s[:] = 3
    np.testing.assert_allclose(fused(x, s, program=program), x * 3 + 3)
