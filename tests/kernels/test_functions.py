"""Function-calling ops (engine/kernels/neutral/functions.py) in models TensorFlow traces.

Each model is a tf.function traced to a GraphDef whose library holds the loop bodies, branches and called
functions; tfgl loads that GraphDef as a graph model and runs it on every backend, TensorFlow runs the same
concrete function, and every output must agree. TensorFlow emits the stateless ops (StatelessWhile,
StatelessIf, PartitionedCall) unless the function they run holds a stateful op: a tf.compat.v1.Print in the
loop body, a branch and the called function makes it emit While, If and StatefulPartitionedCall instead.
Models of raw ops name each op directly, to check the predicate rule If and While share (a non-bool scalar
is true when non-zero or non-empty, any other tensor when non-empty)."""
import functools

import numpy as np
import pytest

from engine import dtypes
from engine.errors import GraphError
from engine.io.limits import Limits
from tests.kernels.harness import assert_close, rand, tf
from tests.test_graph import model_from_tf_graph

pytestmark = pytest.mark.tf

STATELESS_OPS = {"StatelessWhile", "StatelessIf", "PartitionedCall"}
STATEFUL_OPS = {"While", "If", "StatefulPartitionedCall"}


def traced_ops(concrete) -> set[str]:
    """The op types of a traced function's graph and of every function in its library."""
    graph_def = concrete.graph.as_graph_def()
    return {node.op for node in graph_def.node} | \
        {node.op for function in graph_def.library.function for node in function.node_def}


def assert_runs_as_in_tensorflow(concrete, backend: str, feeds: dict[str, np.ndarray]) -> None:
    """Loads the traced function's GraphDef (inputs: its placeholders, outputs: its dict's keys) on tfgl and
    compares each output with TensorFlow running the concrete function."""
    t = tf()
    want = concrete(**{name: t.constant(value) for name, value in feeds.items()})
    outputs = {key: tensor.name for key, tensor in concrete.structured_outputs.items()}
    got = model_from_tf_graph(concrete.graph, {}, outputs, backend).execute(feeds, list(outputs))
    for key, value in zip(outputs, got):
        assert_close(value, dtypes.to_storage(want[key].numpy()), what=f"output {key!r} on {backend}")


# -- a model with a loop, a branch and nested calls ------------------------------------------------------

@functools.cache
def control_flow_model(stateful: bool):
    """x (16x16: on webgl the loop runs on GPU-resident values) halved-and-shifted n times by a
    tf.while_loop whose body calls a tf.function, then a tf.cond on n's parity, then a tf.function that
    calls another."""
    t = tf()

    def mark(value):
        return t.compat.v1.Print(value, [value], message="mark") if stateful else value

    @t.function
    def shift(v):
        return mark(v * 0.5 + 1.0)

    @t.function
    def shift_and_scale(v):
        return shift(v) * 3.0

    @t.function
    def model(x, n):
        _, looped = t.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, shift(acc)), [0, x])
        branched = t.cond(n % 2 == 0, lambda: mark(looped - 1.0), lambda: looped * -2.0)
        return {"looped": looped, "branched": branched, "called": shift_and_scale(branched)}

    return model.get_concrete_function(t.TensorSpec([16, 16], t.float32), t.TensorSpec([], t.int32))


@pytest.mark.parametrize("n", [0, 1, 4])
@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
def test_loop_branch_and_calls(backend, rng, stateful, n):
    """n = 0 never enters the loop; the parity of n picks the branch."""
    concrete = control_flow_model(stateful)
    expected_ops, other_ops = (STATEFUL_OPS, STATELESS_OPS) if stateful else (STATELESS_OPS, STATEFUL_OPS)
    assert expected_ops <= traced_ops(concrete) and not other_ops & traced_ops(concrete), traced_ops(concrete)
    assert_runs_as_in_tensorflow(concrete, backend, {"x": rand(rng, (16, 16)), "n": np.int32(n)})


# -- the predicate rule, through the raw ops -----------------------------------------------------------

PREDICATES = [np.bool_(True), np.bool_(False), np.int32(0), np.int32(-2), np.float32(0.0), np.float32(0.5),
              np.array(b""), np.array(b"a"), np.zeros((0,), np.float32), np.zeros((2, 2), np.int32),
              np.zeros((1,), np.bool_)]


@functools.cache
def if_model(op: str, dtype: str, shape: tuple[int, ...]):
    """x + 1 if the predicate holds, else x * 3, through tf.raw_ops.<op>."""
    t = tf()
    value = t.TensorSpec([3], t.float32)
    then_branch = t.function(lambda v: v + 1.0).get_concrete_function(value)
    else_branch = t.function(lambda v: v * 3.0).get_concrete_function(value)

    @t.function
    def model(predicate, x):
        y = getattr(t.raw_ops, op)(cond=predicate, input=[x], Tout=[t.float32], then_branch=then_branch,
                                   else_branch=else_branch)
        return {"y": y[0]}

    return model.get_concrete_function(t.TensorSpec(shape, dtype), value)


@pytest.mark.parametrize("predicate", PREDICATES, ids=repr)
@pytest.mark.parametrize("op", ["If", "StatelessIf"])
def test_if_predicate(backend, rng, op, predicate):
    dtype = "string" if predicate.dtype.kind == "S" else predicate.dtype.name
    concrete = if_model(op, dtype, predicate.shape)
    assert_runs_as_in_tensorflow(concrete, backend, {"predicate": predicate, "x": rand(rng, (3,))})


@functools.cache
def countdown_model(op: str, predicate_kind: str):
    """Counts i up from 0 (doubling-plus-one a vector alongside) while the predicate of limit - i holds:
    that difference itself ("scalar", true while non-zero) or a range of its length ("vector", true while
    non-empty)."""
    t = tf()
    loop_vars = [t.TensorSpec([], t.int32), t.TensorSpec([], t.int32), t.TensorSpec([4], t.float32)]
    predicate = {"scalar": lambda remaining: remaining, "vector": t.range}[predicate_kind]
    cond = t.function(lambda i, limit, acc: predicate(limit - i)).get_concrete_function(*loop_vars)
    body = t.function(lambda i, limit, acc: (i + 1, limit, acc * 2.0 + 1.0)).get_concrete_function(*loop_vars)

    @t.function
    def model(limit, x):
        i, _, acc = getattr(t.raw_ops, op)(input=[t.constant(0), limit, x], cond=cond, body=body)
        return {"i": i, "acc": acc}

    return model.get_concrete_function(*loop_vars[1:])


@pytest.mark.parametrize("limit", [0, 3])
@pytest.mark.parametrize("predicate_kind", ["scalar", "vector"])
@pytest.mark.parametrize("op", ["While", "StatelessWhile"])
def test_while_predicate(backend, rng, op, predicate_kind, limit):
    concrete = countdown_model(op, predicate_kind)
    assert_runs_as_in_tensorflow(concrete, backend, {"limit": np.int32(limit), "x": rand(rng, (4,))})


def test_endless_while_stops_at_the_iteration_limit(backend, rng, monkeypatch):
    """A limit below 0 never counts down to zero: tfgl gives up where TensorFlow would run forever."""
    monkeypatch.setattr(Limits, "max_loop_iterations", 50)
    concrete = countdown_model("StatelessWhile", "scalar")
    outputs = {key: tensor.name for key, tensor in concrete.structured_outputs.items()}
    model = model_from_tf_graph(concrete.graph, {}, outputs, backend)
    with pytest.raises(GraphError, match="did not end after 50 iterations"):
        model.execute({"limit": np.int32(-1), "x": rand(rng, (4,))})


# -- calls through the raw ops -------------------------------------------------------------------------

@functools.cache
def call_model(op: str):
    """A function with outputs of three dtypes, one of them an argument passed straight back, called
    through tf.raw_ops.<op>."""
    t = tf()
    args = [t.TensorSpec([None, 3], t.float32), t.TensorSpec([], t.string)]
    called = t.function(lambda x, label: (x * 2.0, t.shape(x), label)).get_concrete_function(*args)

    @t.function
    def model(x, label):
        doubled, shape, same_label = getattr(t.raw_ops, op)(args=[x, label], Tout=[t.float32, t.int32, t.string],
                                                            f=called)
        return {"doubled": doubled, "shape": shape, "label": same_label}

    return model.get_concrete_function(*args)


@pytest.mark.parametrize("rows", [0, 2])
@pytest.mark.parametrize("op", ["PartitionedCall", "StatefulPartitionedCall"])
def test_call(backend, rng, op, rows):
    concrete = call_model(op)
    assert_runs_as_in_tensorflow(concrete, backend, {"x": rand(rng, (rows, 3), specials=True),
                                                     "label": np.array(b"tfgl")})
