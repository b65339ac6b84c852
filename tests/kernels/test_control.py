"""TensorArray and TensorList kernels against TensorFlow.

Three kinds of checks:
* graphs TensorFlow builds for tf.TensorArray (TensorList ops in a tf.function, TensorArrayV3 ops
  in a v1 graph) replayed op by op on tfgl, so handles flow between kernel calls as in a model;
* op sequences run side by side on TensorFlow's eager raw ops and on tfgl (`Mirror`), comparing
  every tensor output and that both reject the same misuse;
* the container semantics themselves: shared TensorArray state, TensorList value semantics.
"""
import inspect

import numpy as np
import pytest

import engine
from engine import dtypes
from engine.errors import KernelError
from engine.kernels.cpu.control import TensorArray, TensorList
from engine.tensors import Tensor
from tests.kernels.harness import assert_close, rand, tf, to_tensor

pytestmark = pytest.mark.tf

HANDLES = (TensorArray, TensorList)


def _engine_inputs(values) -> list:
    return [v if isinstance(v, HANDLES) else to_tensor(v) for v in values]


def _engine_outputs(outputs) -> list:
    return [o.numpy() if isinstance(o, Tensor) else o for o in outputs]


# -- replaying TensorFlow graphs ---------------------------------------------------------------

def _tfgl_attrs(node_def) -> dict:
    """A NodeDef's attrs as tfgl passes them: type names, shapes as tuples (-1 unknown, None for
    an unknown rank)."""
    attrs = {}
    for name, value in node_def.attr.items():
        kind = value.WhichOneof("value")
        if kind == "type":
            attrs[name] = tf().as_dtype(value.type).name
        elif kind == "shape":
            attrs[name] = None if value.shape.unknown_rank else tuple(d.size for d in value.shape.dim)
        elif kind in ("i", "f", "b"):
            attrs[name] = getattr(value, kind)
        elif kind == "s":
            attrs[name] = value.s.decode()
    return attrs


def replay(backend: str, graph, feeds: dict) -> dict:
    """Runs a loop-free TensorFlow graph one op at a time on tfgl; returns every tensor's value."""
    run = engine.get_backend(backend).run
    values = dict(feeds)
    for op in graph.get_operations():
        if op.type == "Placeholder":
            continue
        if op.type == "Const":
            outputs = [tf().make_ndarray(op.get_attr("value"))]
        else:
            inputs = _engine_inputs([values[t.name] for t in op.inputs])
            outputs = _engine_outputs(run(op.type, inputs, _tfgl_attrs(op.node_def), node=op.name))
        values.update({t.name: v for t, v in zip(op.outputs, outputs)})
    return values


def test_tf_function_tensor_array_replayed(backend, rng):
    """In a tf.function, tf.TensorArray becomes TensorList ops: reserve, set, stack, gather, concat,
    split, scatter, from-tensor, and a dynamic array grown by writing past its end."""
    t = tf()

    @t.function
    def build(a, b, c, long, flat, lengths, stacked, pair):
        ta = t.TensorArray(t.float32, size=3, element_shape=[2]).write(0, a).write(1, b).write(2, c)
        grown = t.TensorArray(t.float32, size=0, dynamic_size=True, infer_shape=False).write(0, a).write(3, long)
        parts = t.TensorArray(t.float32, size=2, infer_shape=False).split(flat, lengths)
        unstacked = t.TensorArray(t.float32, size=3).unstack(stacked)
        scattered = t.TensorArray(t.float32, size=4, element_shape=[2]).scatter([3, 1], pair)
        return (ta.stack(), ta.read(1), ta.gather([2, 0]), ta.concat(), ta.size(), grown.size(), grown.read(3),
                grown.read(0), parts.read(1), parts.concat(), unstacked.read(2), scattered.stack())

    a, b, c = (rand(rng, (2,)) for _ in range(3))
    args = (a, b, c, rand(rng, (4,)), rand(rng, (6,)), np.array([1, 5], np.int64), rand(rng, (3, 2)),
            rand(rng, (2, 2)))
    function = build.get_concrete_function(*args)
    ops = {op.type for op in function.graph.get_operations()}
    assert {"TensorListReserve", "TensorListSetItem", "TensorListStack", "TensorListGetItem", "TensorListGather",
            "TensorListConcatV2", "TensorListSplit", "TensorListFromTensor", "TensorListLength",
            "TensorListScatterIntoExistingList"} <= ops
    want = [r.numpy() for r in function(*args)]
    values = replay(backend, function.graph, {t.name: v for t, v in zip(function.graph.inputs, args)})
    for i, (tensor, expected) in enumerate(zip(function.graph.outputs, want)):
        assert_close(values[tensor.name], dtypes.to_storage(expected), what=f"output {i}")


def test_v1_graph_tensor_array_replayed(backend, rng):
    """A v1 graph's tf.TensorArray is a TensorArrayV3 resource; the flow tensor orders its ops."""
    t = tf()
    from tensorflow.python.ops import control_flow_util
    graph = t.Graph()
    saved, control_flow_util.ENABLE_CONTROL_FLOW_V2 = control_flow_util.ENABLE_CONTROL_FLOW_V2, False
    try:
        with graph.as_default():
            rows = t.compat.v1.placeholder(t.float32, (4, 3), name="rows")
            flat = t.compat.v1.placeholder(t.float32, (5, 3), name="flat")
            head = t.compat.v1.placeholder(t.float32, (2, 3), name="head")
            lengths = t.constant([2, 0, 3], t.int64)
            ta = t.TensorArray(t.float32, size=4, clear_after_read=False)
            ta = ta.scatter([2, 0, 3, 1], rows)
            gathered, first = ta.gather([3, 1, 1]), ta.read(2)
            grown = t.TensorArray(t.float32, size=1, dynamic_size=True, infer_shape=False)
            grown = grown.write(2, head).write(0, flat)
            split = t.TensorArray(t.float32, size=3, infer_shape=False, clear_after_read=False).split(flat, lengths)
            fetches = [gathered, first, ta.size(), grown.size(), grown.read(2), split.concat(), split.read(2)]
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved
    assert {"TensorArrayV3", "TensorArrayScatterV3", "TensorArrayGatherV3", "TensorArrayReadV3",
            "TensorArrayWriteV3", "TensorArraySplitV3", "TensorArrayConcatV3",
            "TensorArraySizeV3"} <= {op.type for op in graph.get_operations()}
    feeds = {"rows:0": rand(rng, (4, 3)), "flat:0": rand(rng, (5, 3)), "head:0": rand(rng, (2, 3))}
    with t.compat.v1.Session(graph=graph) as session:
        want = session.run(fetches, feed_dict=feeds)
    values = replay(backend, graph, feeds)
    for i, (tensor, expected) in enumerate(zip(fetches, want)):
        assert_close(values[tensor.name], dtypes.to_storage(np.asarray(expected)), what=f"fetch {i}")


def test_v1_while_loop_with_tensor_arrays_runs_as_a_model(backend, rng):
    """The TF1 pattern TF.js models carry: TensorArrayV3 handles and flows entering a v1 while loop
    (Enter/Merge/Switch/NextIteration/Exit), read and written each iteration, stacked after it."""
    t = tf()
    from google.protobuf import json_format
    from tensorflow.python.ops import control_flow_util
    from engine.graph.model import GraphModel
    from engine.io.model_json import parse_model_json
    graph = t.Graph()
    saved, control_flow_util.ENABLE_CONTROL_FLOW_V2 = control_flow_util.ENABLE_CONTROL_FLOW_V2, False
    try:
        with graph.as_default():
            x = t.compat.v1.placeholder(t.float32, (5, 3), name="x")
            inputs = t.TensorArray(t.float32, size=5, element_shape=[3]).unstack(x)

            def body(i, total, out):
                total = total + inputs.read(i)
                return i + 1, total, out.write(i, total * 2.0)

            _, _, out = t.while_loop(lambda i, *_: i < 5, body,
                                     [t.constant(0), t.zeros([3]), t.TensorArray(t.float32, size=5)])
            y = t.identity(out.stack(), name="y")
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved
    assert {"Enter", "LoopCond", "TensorArrayV3", "TensorArrayReadV3"} <= {op.type for op in graph.get_operations()}
    x_value = rand(rng, (5, 3))
    with t.compat.v1.Session(graph=graph) as session:
        want = session.run(y, {x: x_value})
    topology = json_format.MessageToDict(graph.as_graph_def())
    artifacts = parse_model_json({"format": "graph-model", "modelTopology": topology, "weightsManifest": []}, ".")
    got = GraphModel(artifacts, {}, backend=backend).execute({"x:0": x_value}, "y")
    assert_close(got, want, what="stacked loop outputs")


# -- side by side with TensorFlow's eager raw ops ------------------------------------------------

class Pair:
    """A TensorArray or TensorList handle on both sides: TensorFlow's tensor and tfgl's object."""

    def __init__(self, reference, engine_value):
        self.reference, self.engine_value = reference, engine_value


class Mirror:
    """Runs each op on TensorFlow (eager raw ops) and on tfgl; compares tensor outputs, pairs handles."""

    def __init__(self, backend: str):
        self.backend = engine.get_backend(backend)

    def _reference(self, op: str, inputs, attrs: dict) -> list:
        from tensorflow.python.framework import op_def_registry
        t = tf()
        op_def = op_def_registry.get(op)
        raw = getattr(t.raw_ops, op)
        kwargs = {arg.name: x.reference if isinstance(x, Pair) else t.constant(x)
                  for arg, x in zip(op_def.input_arg, inputs)}
        kinds = {a.name: a.type for a in op_def.attr}
        accepted = set(inspect.signature(raw).parameters)
        for name, value in attrs.items():
            if name not in accepted:
                continue  # attrs TensorFlow infers from the inputs
            if kinds[name] == "type":
                value = t.as_dtype(value)
            elif kinds[name] == "shape":
                value = t.TensorShape(None if value is None else [None if d < 0 else d for d in value])
            kwargs[name] = value
        result = raw(**kwargs)
        if result is None or isinstance(result, t.Operation):
            return []
        return list(result) if isinstance(result, (tuple, list)) else [result]

    def _engine(self, op: str, inputs, attrs: dict) -> list:
        values = [x.engine_value if isinstance(x, Pair) else x for x in inputs]
        return _engine_outputs(self.backend.run(op, _engine_inputs(values), attrs))

    def __call__(self, op: str, *inputs, **attrs):
        want = self._reference(op, inputs, attrs)
        got = self._engine(op, inputs, attrs)
        assert len(got) == len(want), f"{op}: {len(got)} outputs, TensorFlow has {len(want)}"
        outputs = []
        for i, (g, w) in enumerate(zip(got, want)):
            if isinstance(g, HANDLES):
                outputs.append(Pair(w, g))
            else:
                assert_close(g, dtypes.to_storage(w.numpy()), what=f"{op} output {i}")
                outputs.append(g)
        return outputs[0] if len(outputs) == 1 else outputs

    def fails(self, op: str, *inputs, match: str, **attrs) -> None:
        """Both reject the call; tfgl's message must contain `match`."""
        with pytest.raises(tf().errors.OpError):
            self._reference(op, inputs, attrs)
        with pytest.raises(KernelError, match=match):
            self._engine(op, inputs, attrs)


def _shape(*dims):
    return np.array(dims, np.int32)


UNKNOWN = np.int32(-1)  # a shape tensor for an unknown rank


@pytest.fixture
def mirror(backend):
    return Mirror(backend)


def _array(mirror, size, element_shape=None, **attrs):
    handle, flow = mirror("TensorArrayV3", np.int32(size), dtype="float32", element_shape=element_shape, **attrs)
    return handle, flow


def test_tensor_array_write_read_rules(mirror, rng):
    handle, flow = _array(mirror, 3, (2,))
    x = rand(rng, (2,))
    flow = mirror("TensorArrayWriteV3", handle, np.int32(0), x, flow)
    mirror("TensorArrayReadV3", handle, np.int32(0), flow, dtype="float32")
    mirror.fails("TensorArrayReadV3", handle, np.int32(0), flow, dtype="float32", match="cleared")
    mirror.fails("TensorArrayWriteV3", handle, np.int32(0), x, flow, match="already been read")
    mirror("TensorArrayReadV3", handle, np.int32(1), flow, dtype="float32")  # never written, shape known: zeros
    mirror.fails("TensorArrayWriteV3", handle, np.int32(2), rand(rng, (3,)), flow, match="incompatible")
    mirror.fails("TensorArrayWriteV3", handle, np.int32(2), np.ones(2, np.int32), flow, match="dtype")
    mirror.fails("TensorArrayWriteV3", handle, np.int32(3), x, flow, match="not resizeable")
    mirror.fails("TensorArrayReadV3", handle, np.int32(5), flow, dtype="float32", match="array size is: 3")
    flow = mirror("TensorArrayWriteV3", handle, np.int32(2), x, flow)
    mirror.fails("TensorArrayWriteV3", handle, np.int32(2), x, flow, match="already been written")
    mirror("TensorArraySizeV3", handle, flow)
    mirror("TensorArrayCloseV3", handle)
    mirror.fails("TensorArraySizeV3", handle, flow, match="closed")


def test_tensor_array_unknown_shapes_and_growth(mirror, rng):
    handle, flow = _array(mirror, 1, None, dynamic_size=True, clear_after_read=False)
    mirror.fails("TensorArrayReadV3", handle, np.int32(0), flow, dtype="float32", match="not fully defined")
    flow = mirror("TensorArrayWriteV3", handle, np.int32(3), rand(rng, (2, 3)), flow)
    flow = mirror("TensorArrayWriteV3", handle, np.int32(1), rand(rng, (4, 3)), flow)
    mirror("TensorArraySizeV3", handle, flow)
    mirror("TensorArrayReadV3", handle, np.int32(3), flow, dtype="float32")
    mirror("TensorArrayReadV3", handle, np.int32(3), flow, dtype="float32")  # clear_after_read=False
    mirror.fails("TensorArrayGatherV3", handle, np.array([1, 3], np.int32), flow, dtype="float32",
                 match="inconsistent shapes")
    mirror.fails("TensorArrayConcatV3", handle, flow, dtype="float32", match="not fully defined")  # index 0 unset
    flow = mirror("TensorArrayScatterV3", handle, np.array([6, 0, 2, 5, 4], np.int32), rand(rng, (5, 1, 3)), flow)
    mirror("TensorArrayConcatV3", handle, flow, dtype="float32")
    mirror("TensorArraySizeV3", handle, flow)


def test_tensor_array_identical_element_shapes(mirror, rng):
    handle, flow = _array(mirror, 3, None, identical_element_shapes=True)
    flow = mirror("TensorArrayWriteV3", handle, np.int32(0), rand(rng, (2, 2)), flow)
    mirror.fails("TensorArrayWriteV3", handle, np.int32(1), rand(rng, (3, 2)), flow, match="incompatible")
    mirror("TensorArrayReadV3", handle, np.int32(2), flow, dtype="float32")  # zeros of the inferred shape


def test_tensor_array_gather_concat_split_scatter(mirror, rng):
    handle, flow = _array(mirror, 0, None)
    mirror.fails("TensorArrayGatherV3", handle, np.zeros(0, np.int32), flow, dtype="float32",
                 match="not fully defined")
    mirror("TensorArrayGatherV3", handle, np.zeros(0, np.int32), flow, dtype="float32", element_shape=(2, 3))
    mirror("TensorArrayConcatV3", handle, flow, dtype="float32", element_shape_except0=(4,))
    handle, flow = _array(mirror, 3, None, clear_after_read=False)
    mirror.fails("TensorArraySplitV3", handle, rand(rng, (5, 2)), np.array([2, 2], np.int64), flow,
                 match="sum of lengths")
    mirror.fails("TensorArraySplitV3", handle, rand(rng, (5, 2)), np.array([2, 3], np.int64), flow,
                 match="size of lengths")
    flow = mirror("TensorArraySplitV3", handle, rand(rng, (5, 2)), np.array([2, 0, 3], np.int64), flow)
    mirror("TensorArrayConcatV3", handle, flow, dtype="float32")
    mirror("TensorArrayReadV3", handle, np.int32(1), flow, dtype="float32")
    mirror.fails("TensorArrayConcatV3", handle, flow, dtype="float32", element_shape_except0=(3,),
                 match="does not match")
    mirror.fails("TensorArrayGatherV3", handle, np.array([0], np.int32), flow, dtype="float32",
                 element_shape=(2, 5), match="does not match")
    scattered, flow = _array(mirror, 2, (3,))
    mirror.fails("TensorArrayScatterV3", scattered, np.array([0, 2], np.int32), rand(rng, (2, 3)), flow,
                 match="Max scatter index")
    flow = mirror("TensorArrayScatterV3", scattered, np.array([1, 0], np.int32), rand(rng, (2, 3)), flow)
    mirror("TensorArrayGatherV3", scattered, np.array([0, 1], np.int32), flow, dtype="float32")


def test_tensor_array_is_shared_by_every_holder(backend, rng):
    """A TensorArray is a resource: a write through one op is seen by later ops on the same handle,
    and the flow output is the flow input."""
    run = engine.get_backend(backend).run
    handle, flow = run("TensorArrayV3", [to_tensor(np.int32(2))], {"dtype": "float32"})
    value = rand(rng, (3,))
    new_flow = run("TensorArrayWriteV3", [handle, to_tensor(np.int32(1)), to_tensor(value), flow], {})[0]
    assert new_flow.numpy() == 0 and new_flow.dtype == "float32"
    assert len(handle.slots) == 2 and handle.slots[1].written
    np.testing.assert_array_equal(run("TensorArrayReadV3", [handle, to_tensor(np.int32(1)), flow],
                                      {"dtype": "float32"})[0].numpy(), value)


def test_tensor_list_reserve_set_get_stack(mirror, rng):
    lst = mirror("TensorListReserve", _shape(-1, 3), np.int32(3), element_dtype="float32")
    mirror.fails("TensorListStack", lst, _shape(-1, 3), element_dtype="float32", match="non-fully-defined")
    mirror.fails("TensorListGetItem", lst, np.int32(0), _shape(-1, 3), element_dtype="float32",
                 match="not fully defined")
    mirror("TensorListGetItem", lst, np.int32(0), _shape(2, 3), element_dtype="float32")  # zeros
    lst = mirror("TensorListSetItem", lst, np.int32(1), rand(rng, (2, 3)), element_dtype="float32")
    mirror("TensorListGetItem", lst, np.int32(2), _shape(-1, 3), element_dtype="float32")  # inferred zeros
    mirror("TensorListStack", lst, _shape(-1, 3), element_dtype="float32", num_elements=3)
    mirror("TensorListGather", lst, np.array([2, 1, 1], np.int32), UNKNOWN, element_dtype="float32")
    mirror.fails("TensorListSetItem", lst, np.int32(0), rand(rng, (2, 4)), element_dtype="float32",
                 match="incompatible shape")
    mirror.fails("TensorListSetItem", lst, np.int32(3), rand(rng, (2, 3)), element_dtype="float32",
                 match="Trying to modify element 3")
    grown = mirror("TensorListSetItem", lst, np.int32(5), rand(rng, (1, 3)), element_dtype="float32",
                   resize_if_index_out_of_bounds=True)
    mirror("TensorListLength", grown)
    mirror.fails("TensorListStack", grown, UNKNOWN, element_dtype="float32", match="Incompatible shapes")
    mirror.fails("TensorListStack", lst, UNKNOWN, element_dtype="float32", num_elements=2, match="expected a list")
    mirror.fails("TensorListStack", lst, UNKNOWN, element_dtype="int32", match="Invalid data types")
    mirror.fails("TensorListGetItem", lst, np.int32(3), UNKNOWN, element_dtype="float32", match="element 3")


def test_tensor_list_empty_stack_uses_element_shape(mirror):
    lst = mirror("EmptyTensorList", _shape(2, -1), np.int32(-1), element_dtype="float32")
    mirror.fails("TensorListStack", lst, UNKNOWN, element_dtype="float32", match="empty list")
    mirror("TensorListStack", lst, _shape(-1, 4), element_dtype="float32")
    mirror("TensorListGather", lst, np.zeros(0, np.int32), _shape(2, 5), element_dtype="float32")
    mirror("TensorListLength", lst)
    ints = mirror("EmptyTensorList", UNKNOWN, np.int32(-1), element_dtype="int32")
    mirror("TensorListStack", ints, _shape(0, 3), element_dtype="int32")


def test_tensor_list_push_pop_resize(mirror, rng):
    lst = mirror("EmptyTensorList", _shape(-1), np.int32(2), element_dtype="float32")
    lst = mirror("TensorListPushBack", lst, rand(rng, (3,)), element_dtype="float32")
    mirror.fails("TensorListPushBack", lst, rand(rng, (3, 1)), element_dtype="float32", match="incompatible shape")
    lst = mirror("TensorListPushBack", lst, rand(rng, (5,)), element_dtype="float32")
    mirror.fails("TensorListPushBack", lst, rand(rng, (3,)), element_dtype="float32", match="full list")
    longer = mirror("TensorListResize", lst, np.int32(4))
    mirror.fails("TensorListPopBack", longer, UNKNOWN, element_dtype="float32", match="not fully defined")
    shorter, item = mirror("TensorListPopBack", longer, _shape(6), element_dtype="float32")  # unset: zeros
    mirror("TensorListLength", shorter)
    lst, item = mirror("TensorListPopBack", lst, UNKNOWN, element_dtype="float32")
    lst, item = mirror("TensorListPopBack", lst, UNKNOWN, element_dtype="float32")
    mirror.fails("TensorListPopBack", lst, UNKNOWN, element_dtype="float32", match="empty list")
    mirror("TensorListLength", mirror("TensorListResize", longer, np.int32(1)))


def test_tensor_list_from_tensor_scatter_split(mirror, rng):
    x = rand(rng, (4, 2, 3))
    lst = mirror("TensorListFromTensor", x, _shape(-1, 3), element_dtype="float32")
    mirror("TensorListStack", lst, UNKNOWN, element_dtype="float32")
    mirror.fails("TensorListFromTensor", x, _shape(3, 3), element_dtype="float32", match="Specified a list")
    scattered = mirror("TensorListScatter", x, np.array([5, 0, 2, 3], np.int32), _shape(2, 3),
                       element_dtype="float32")
    mirror("TensorListStack", scattered, UNKNOWN, element_dtype="float32")
    wide = mirror("TensorListScatterV2", x, np.array([1, 0, 2, 3], np.int32), UNKNOWN, np.int32(7),
                  element_dtype="float32")
    mirror("TensorListLength", wide)
    mirror.fails("TensorListScatterV2", x, np.array([1, 0, 2, 9], np.int32), UNKNOWN, np.int32(7),
                 element_dtype="float32", match="scatter at index 9")
    into = mirror("TensorListScatterIntoExistingList", lst, x[:2], np.array([4, 1], np.int32),
                  element_dtype="float32")
    mirror("TensorListGather", into, np.array([4, 1, 0, 1], np.int32), UNKNOWN, element_dtype="float32")
    pieces = mirror("TensorListSplit", rand(rng, (6, 2)), _shape(-1, 2), np.array([1, 0, 5], np.int64),
                    element_dtype="float32")
    mirror("TensorListGetItem", pieces, np.int32(2), UNKNOWN, element_dtype="float32")
    mirror("TensorListGetItem", pieces, np.int32(1), UNKNOWN, element_dtype="float32")
    mirror.fails("TensorListSplit", rand(rng, (6, 2)), UNKNOWN, np.array([4, 4], np.int64),
                 element_dtype="float32", match="Attempting to slice")


def test_tensor_list_concat(mirror, rng):
    lst = mirror("TensorListReserve", _shape(-1, 2), np.int32(4), element_dtype="float32")
    lst = mirror("TensorListSetItem", lst, np.int32(0), rand(rng, (3, 2)), element_dtype="float32")
    lst = mirror("TensorListSetItem", lst, np.int32(2), rand(rng, (3, 2)), element_dtype="float32")
    mirror("TensorListConcatV2", lst, _shape(-1, 2), np.zeros(0, np.int64), element_dtype="float32")
    mirror("TensorListConcatV2", lst, _shape(-1, 2), np.array([9, 1, 9, 4], np.int64), element_dtype="float32")
    mirror("TensorListConcat", lst, element_dtype="float32", element_shape=(-1, 2))
    lst = mirror("TensorListSetItem", lst, np.int32(3), rand(rng, (1, 2)), element_dtype="float32")
    mirror.fails("TensorListConcatV2", lst, _shape(-1, 2), np.zeros(0, np.int64), element_dtype="float32",
                 match="leading_dims")
    mirror("TensorListConcatV2", lst, _shape(-1, 2), np.array([0, 2], np.int64), element_dtype="float32")
    mirror.fails("TensorListConcat", lst, element_dtype="float32", element_shape=(-1, 2),
                 match="not supported in this version")
    mirror.fails("TensorListConcatV2", lst, _shape(3, 2), np.zeros(0, np.int64), element_dtype="float32",
                 match="does not match the first dim")
    empty = mirror("EmptyTensorList", _shape(-1, 5), np.int32(-1), element_dtype="float32")
    mirror("TensorListConcatV2", empty, UNKNOWN, np.zeros(0, np.int64), element_dtype="float32")
    shapeless = mirror("EmptyTensorList", UNKNOWN, np.int32(-1), element_dtype="float32")
    mirror.fails("TensorListConcatV2", shapeless, _shape(-1, -1), np.zeros(0, np.int64), element_dtype="float32",
                 match="empty tensor list")


def test_tensor_list_ops_return_new_lists_sharing_elements(backend, rng):
    """TensorList has value semantics: the input list is unchanged and the element arrays are shared,
    not copied."""
    run = engine.get_backend(backend).run
    x = rand(rng, (3, 2))
    original = run("TensorListFromTensor", [to_tensor(x), to_tensor(_shape(2))], {"element_dtype": "float32"})[0]
    item = to_tensor(rand(rng, (2,)))
    changed = run("TensorListSetItem", [original, to_tensor(np.int32(1)), item], {"element_dtype": "float32"})[0]
    pushed = run("TensorListPushBack", [changed, item], {"element_dtype": "float32"})[0]
    popped, last = run("TensorListPopBack", [pushed, to_tensor(UNKNOWN)], {"element_dtype": "float32"})
    assert all(isinstance(v, TensorList) for v in (changed, pushed, popped))
    assert len({id(original), id(changed), id(pushed), id(popped)}) == 4
    assert (len(original), len(changed), len(pushed), len(popped)) == (3, 3, 4, 3)
    np.testing.assert_array_equal(np.stack(original.elements), x)
    assert changed.elements[0] is original.elements[0] and changed.elements[1] is not original.elements[1]
    np.testing.assert_array_equal(last.numpy(), item.numpy())
    stacked = run("TensorListStack", [popped, to_tensor(UNKNOWN)], {"element_dtype": "float32"})[0].numpy()
    np.testing.assert_array_equal(stacked, np.stack([x[0], item.numpy(), x[2]]))


def test_tensor_list_strings(mirror):
    words = np.array([[b"a", b""], [b"tf", b"gl"]], dtype=object)
    lst = mirror("TensorListFromTensor", words, _shape(2), element_dtype="string")
    lst = mirror("TensorListResize", lst, np.int32(3))
    mirror("TensorListStack", lst, UNKNOWN, element_dtype="string")
