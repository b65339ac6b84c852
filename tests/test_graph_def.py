"""GraphDef JSON decoding: every AttrValue encoding, written by protobuf's own MessageToDict (as the converter
writes model.json) and checked against TensorFlow's own reading of the same protos (tf.make_ndarray, ...)."""
import base64
import glob
import json
import math
import os

import numpy as np
import pytest

from engine import dtypes
from engine.errors import AttrError, GraphError, ModelFormatError
from engine.io import graph_def as gd
from engine.io.graph_def import FuncRef

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
FIXTURE_MODELS = sorted(path for path in glob.glob(os.path.join(FIXTURES, "*", "model.json"))
                        if json.load(open(path)).get("format") == "graph-model")

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def pb(tf):
    from google.protobuf import json_format
    from tensorflow.core.framework import attr_value_pb2, graph_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

    class Protos:
        AttrValue, ListValue, NameAttrList = attr_value_pb2.AttrValue, attr_value_pb2.AttrValue.ListValue, \
            attr_value_pb2.NameAttrList
        TensorProto, TensorShapeProto, GraphDef, types = tensor_pb2.TensorProto, tensor_shape_pb2.TensorShapeProto, \
            graph_pb2.GraphDef, types_pb2

        @staticmethod
        def to_json(message):
            return json_format.MessageToDict(message)

        @staticmethod
        def parse(data, message):
            return json_format.ParseDict(data, message)

    return Protos


def _type_name(pb, enum):
    return dtypes.TF_TYPE_NAMES[pb.types.DataType.Name(enum)]


def expected_attr(tf, pb, attr):
    """What tfgl should decode an AttrValue proto to, computed from the proto by TensorFlow's own means."""
    kind = attr.WhichOneof("value")
    if kind is None or kind == "placeholder":
        return None
    if kind == "s":
        try:
            return attr.s.decode("utf-8")
        except UnicodeDecodeError:
            return attr.s
    if kind in ("i", "f", "b"):
        return getattr(attr, kind)
    if kind == "type":
        return _type_name(pb, attr.type)
    if kind == "shape":  # tfgl's convention: -1 for an unknown dim, None for an unknown rank
        return None if attr.shape.unknown_rank else tuple(dim.size for dim in attr.shape.dim)
    if kind == "tensor":
        array = tf.make_ndarray(attr.tensor)
        if array.dtype == object:  # make_ndarray fills a string tensor without values with str ''
            array = np.vectorize(lambda v: v if isinstance(v, bytes) else v.encode(), otypes=[object])(array) \
                if array.size else array
        return array
    if kind == "func":
        return FuncRef(attr.func.name, {k: expected_attr(tf, pb, v) for k, v in attr.func.attr.items()})
    for field in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
        items = getattr(attr.list, field)
        if len(items):
            return [expected_attr(tf, pb, pb.AttrValue(**{field: item})) for item in items]
    return []


def assert_same(actual, expected, where=""):
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), where
        assert actual.shape == expected.shape, where
        if expected.dtype.name == "bfloat16":  # tfgl computes bfloat16 in float32
            assert actual.dtype == np.float32, where
            expected = expected.astype(np.float32)
        else:
            assert actual.dtype == expected.dtype, (where, actual.dtype, expected.dtype)
        if expected.dtype == object:
            assert actual.tolist() == expected.tolist(), where
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, float):
        # A float attr is a float32: the JSON holds its shortest repr (0.1), TensorFlow the float32 (0.10000000149).
        assert isinstance(actual, float), where
        assert np.float32(actual).tobytes() == np.float32(expected).tobytes() or \
            (math.isnan(actual) and math.isnan(expected)), (where, actual, expected)
    elif isinstance(expected, FuncRef):
        assert isinstance(actual, FuncRef) and actual.name == expected.name, where
        assert actual.attrs.keys() == expected.attrs.keys(), where
        for key in expected.attrs:
            assert_same(actual.attrs[key], expected.attrs[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (where, actual, expected)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    else:
        assert type(actual) is type(expected), (where, actual, expected)
        assert actual == expected, (where, actual, expected)


def check(tf, pb, attr, expected=None):
    """Encodes `attr` as the converter does, decodes it with tfgl, compares with TF's reading (and `expected`)."""
    encoded = json.loads(json.dumps(pb.to_json(attr)))
    decoded = gd.decode_attr(encoded)
    assert_same(decoded, expected_attr(tf, pb, attr), str(encoded)[:200])
    if expected is not None:
        assert_same(decoded, expected, str(encoded)[:200])
    return encoded, decoded


# -- scalars --------------------------------------------------------------------------------------

def test_empty_attr(tf, pb):
    encoded, decoded = check(tf, pb, pb.AttrValue())
    assert encoded == {} and decoded is None


@pytest.mark.parametrize("value", [b"SAME", b"", "h\u00e9llo \u4e16".encode(), b"\xff\x00\xfe", b"NHWC"])
def test_string_attr(tf, pb, value):
    encoded, decoded = check(tf, pb, pb.AttrValue(s=value))
    assert encoded == {"s": base64.b64encode(value).decode()}
    assert decoded == (value if value.startswith(b"\xff") else value.decode())


@pytest.mark.parametrize("value", [0, 1, -1, 7, 2 ** 31, -2 ** 63, 2 ** 63 - 1])
def test_int_attr(tf, pb, value):
    encoded, _ = check(tf, pb, pb.AttrValue(i=value), expected=value)
    assert encoded == {"i": str(value)}  # int64 is a JSON string


@pytest.mark.parametrize("value", [0.0, -0.0, 0.1, 1e-3, -2.5, 1e38, 1e-45, math.inf, -math.inf, math.nan])
def test_float_attr(tf, pb, value):
    encoded, decoded = check(tf, pb, pb.AttrValue(f=value))
    if math.isnan(value):
        assert encoded == {"f": "NaN"}
    elif math.isinf(value):
        assert encoded == {"f": "Infinity" if value > 0 else "-Infinity"}
    assert np.float32(decoded).tobytes() == np.float32(value).tobytes() or math.isnan(value)


@pytest.mark.parametrize("value", [True, False])
def test_bool_attr(tf, pb, value):
    encoded, _ = check(tf, pb, pb.AttrValue(b=value), expected=value)
    assert encoded == {"b": value}


def test_type_attr_names_and_numbers(tf, pb):
    for name in dtypes.TF_TYPE_NAMES:
        enum = pb.types.DataType.Value(name)
        encoded, decoded = check(tf, pb, pb.AttrValue(type=enum), expected=dtypes.TF_TYPE_NAMES[name])
        assert encoded == {"type": name}
        assert gd.decode_attr({"type": enum}) == decoded  # the enum number, as some writers give it
        assert gd.decode_attr({"type": str(enum)}) == decoded
    for number, name in dtypes.TF_TYPE_NUMBERS.items():
        assert pb.types.DataType.Name(number) == name


@pytest.mark.parametrize("dims", [[], [1], [None], [None, 3, 0], [2, 224, 224, 3], None])
def test_shape_attr(tf, pb, dims):
    proto = tf.TensorShape(dims).as_proto()
    encoded, decoded = check(tf, pb, pb.AttrValue(shape=proto))
    if dims is None:
        assert encoded == {"shape": {"unknownRank": True}} and decoded is None
    else:
        assert decoded == tuple(-1 if d is None else d for d in dims)


def test_func_attr(tf, pb):
    inner = pb.NameAttrList(name="inner", attr={"n": pb.AttrValue(i=3)})
    func = pb.NameAttrList(name="while_body_123", attr={
        "T": pb.AttrValue(type=pb.types.DT_FLOAT), "shapes": pb.AttrValue(list=pb.ListValue(shape=[
            tf.TensorShape([None, 2]).as_proto()])),
        "g": pb.AttrValue(func=inner), "empty": pb.AttrValue()})
    _, decoded = check(tf, pb, pb.AttrValue(func=func))
    assert decoded == FuncRef("while_body_123")
    assert decoded.attrs == {"T": "float32", "shapes": [(-1, 2)], "g": FuncRef("inner", {"n": 3}), "empty": None}
    assert decoded.attrs["g"].attrs == {"n": 3}
    _, bare = check(tf, pb, pb.AttrValue(func=pb.NameAttrList(name="f")))
    assert bare.name == "f" and bare.attrs == {}


def test_placeholder_attr(tf, pb):
    check(tf, pb, pb.AttrValue(placeholder="T"))


# -- lists ----------------------------------------------------------------------------------------

def test_list_attrs(tf, pb):
    f32 = tf.make_tensor_proto(np.array([1.5, -2], np.float32))
    i64 = tf.make_tensor_proto(np.array([[1], [2 ** 40]], np.int64))
    cases = {
        "s": ([b"a", b"", b"\xff"], ["a", "", b"\xff"]),
        "i": ([1, -1, 2 ** 40, 0], [1, -1, 2 ** 40, 0]),
        "f": ([0.5, math.inf, -math.inf, 0.0], [0.5, math.inf, -math.inf, 0.0]),
        "b": ([True, False, True], [True, False, True]),
        "type": ([pb.types.DT_FLOAT, pb.types.DT_INT32, pb.types.DT_STRING], ["float32", "int32", "string"]),
        "shape": ([tf.TensorShape([1, None]).as_proto(), tf.TensorShape(None).as_proto(),
                   tf.TensorShape([]).as_proto()], [(1, -1), None, ()]),
        "tensor": ([f32, i64], None),
        "func": ([pb.NameAttrList(name="a"), pb.NameAttrList(name="b", attr={"x": pb.AttrValue(b=True)})],
                 [FuncRef("a"), FuncRef("b", {"x": True})]),
    }
    for kind, (items, expected) in cases.items():
        encoded, decoded = check(tf, pb, pb.AttrValue(list=pb.ListValue(**{kind: items})), expected)
        assert list(encoded["list"]) == [kind]
    _, nan_list = check(tf, pb, pb.AttrValue(list=pb.ListValue(f=[math.nan])))
    assert math.isnan(nan_list[0])


def test_empty_lists(tf, pb):
    encoded, decoded = check(tf, pb, pb.AttrValue(list=pb.ListValue()))
    assert encoded == {"list": {}} and decoded == []
    for kind in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
        assert gd.decode_attr({"list": {kind: []}}) == []
    assert gd.decode_attr({"list": None}) == []


# -- tensors --------------------------------------------------------------------------------------

def _bf16(tf):
    return tf.bfloat16.as_numpy_dtype


TENSOR_VALUES = {
    "float32": np.array([[1.5, -2.0, 0.1], [np.inf, -np.inf, -0.0]], np.float32),
    "float64": np.array([0.1, -1e300, 2.5]),
    "float16": np.array([1.5, -2.0, 65504, 6e-8], np.float16),
    "int32": np.array([[np.iinfo(np.int32).min, -1], [0, np.iinfo(np.int32).max]], np.int32),
    "int64": np.array([2 ** 40, -2 ** 62, 3], np.int64),
    "int16": np.array([-32768, 7], np.int16),
    "int8": np.array([-128, 127, 0], np.int8),
    "uint8": np.array([0, 255, 7], np.uint8),
    "uint16": np.array([65535, 1], np.uint16),
    "uint32": np.array([2 ** 32 - 1, 5], np.uint32),
    "uint64": np.array([2 ** 64 - 1, 5], np.uint64),
    "bool": np.array([[True, False], [False, True]]),
    "complex64": np.array([1 + 2j, -3.5 - 0.25j], np.complex64),
    "complex128": np.array([1e-300 + 2j], np.complex128),
    "string": np.array([b"a", "\u00e9".encode(), b"", b"\xff\x00"], object),
}


@pytest.mark.parametrize("kind", sorted(TENSOR_VALUES) + ["bfloat16"])
def test_tensor_attr_every_dtype(tf, pb, kind):
    """make_tensor_proto picks tensorContent or the typed *Val field per dtype, as TensorFlow writes them."""
    values = np.array([1.5, -2.0, 3.0], _bf16(tf)) if kind == "bfloat16" else TENSOR_VALUES[kind]
    proto = tf.make_tensor_proto(values)
    encoded, decoded = check(tf, pb, pb.AttrValue(tensor=proto))
    assert encoded["tensor"]["dtype"] == dtypes.TF_ENUM_OF[kind]
    if kind != "bfloat16":
        assert decoded.dtype == (np.dtype(object) if kind == "string" else values.dtype)
        if kind == "string":
            assert decoded.tolist() == values.tolist()
        else:
            np.testing.assert_array_equal(decoded, values)


@pytest.mark.parametrize("kind", sorted(TENSOR_VALUES) + ["bfloat16"])
def test_tensor_attr_scalar_and_broadcast(tf, pb, kind):
    """A single typed value fills the whole shape (TensorFlow repeats the last value)."""
    value = np.array([-1.5], _bf16(tf)) if kind == "bfloat16" else TENSOR_VALUES[kind].reshape(-1)[:1]
    scalar = tf.make_tensor_proto(value.reshape(()))
    check(tf, pb, pb.AttrValue(tensor=scalar))
    filled = tf.make_tensor_proto(value.reshape(()), shape=[2, 3])
    encoded, decoded = check(tf, pb, pb.AttrValue(tensor=filled))
    assert "tensorContent" not in encoded["tensor"]
    assert decoded.shape == (2, 3)


@pytest.mark.parametrize("field, kind, items", [
    ("float_val", "DT_FLOAT", [1.0, 2.5, float("nan"), float("-inf")]),
    ("double_val", "DT_DOUBLE", [0.1, -3.0]),
    ("int_val", "DT_INT32", [1, -2, 3]),
    ("int_val", "DT_UINT8", [0, 255]),
    ("int_val", "DT_INT8", [-128, 5]),
    ("int_val", "DT_INT16", [-300, 5]),
    ("int_val", "DT_UINT16", [65535, 5]),
    ("int64_val", "DT_INT64", [2 ** 62, -5]),
    ("uint32_val", "DT_UINT32", [2 ** 32 - 1, 1]),
    ("uint64_val", "DT_UINT64", [2 ** 64 - 1, 1]),
    ("bool_val", "DT_BOOL", [True, False, True]),
    ("half_val", "DT_HALF", [0x3E00, 0xC000, 0x7C00, 0x0001]),  # 1.5, -2, inf, smallest subnormal
    ("half_val", "DT_BFLOAT16", [0x3FC0, 0xC000]),  # 1.5, -2 as bfloat16 bits
    ("string_val", "DT_STRING", [b"x", b"", b"\xc3\xa9"]),
    ("scomplex_val", "DT_COMPLEX64", [1.0, -2.0, 0.5, 0.25]),
    ("dcomplex_val", "DT_COMPLEX128", [1.0, -2.0]),
])
@pytest.mark.parametrize("filled", [False, True])
def test_tensor_typed_value_fields(tf, pb, field, kind, items, filled):
    count = len(items) // 2 if "complex" in field else len(items)
    shape = [count + 3] if filled else [count]  # filled: the last value repeats
    proto = pb.TensorProto(dtype=pb.types.DataType.Value(kind),
                           tensor_shape=tf.TensorShape(shape).as_proto(), **{field: items})
    encoded, decoded = check(tf, pb, pb.AttrValue(tensor=proto))
    camel = "".join(p if i == 0 else p.title() for i, p in enumerate(field.split("_")))
    assert camel in encoded["tensor"]
    assert decoded.shape == tuple(shape)


@pytest.mark.parametrize("kind", ["float32", "int32", "int64", "bool", "string", "complex64", "float16"])
@pytest.mark.parametrize("shape", [[0], [2, 0, 3], [3], []])
def test_tensor_without_values_is_zeros(tf, pb, kind, shape):
    """An empty tensor, or a shape with no values at all (all zeros, as TensorFlow reads it)."""
    proto = pb.TensorProto(dtype=pb.types.DataType.Value(dtypes.TF_ENUM_OF[kind]),
                           tensor_shape=tf.TensorShape(shape).as_proto())
    _, decoded = check(tf, pb, pb.AttrValue(tensor=proto))
    assert decoded.shape == tuple(shape)
    if shape and 0 in shape:
        assert decoded.size == 0
    empty = np.zeros(shape if 0 in shape else [0], dtypes.numpy_dtype(kind))
    encoded, _ = check(tf, pb, pb.AttrValue(tensor=tf.make_tensor_proto(
        empty, dtype=tf.string if kind == "string" else tf.as_dtype(empty.dtype))))
    assert encoded["tensor"]["dtype"] == dtypes.TF_ENUM_OF[kind]


def test_tensor_content_big(tf, pb):
    values = np.random.default_rng(0).standard_normal((4, 5, 6)).astype(np.float32)
    encoded, decoded = check(tf, pb, pb.AttrValue(tensor=tf.make_tensor_proto(values)))
    assert "tensorContent" in encoded["tensor"]
    np.testing.assert_array_equal(decoded, values)


def test_tensor_without_dtype_or_shape():
    assert_same(gd.decode_tensor({"floatVal": [2.0]}), np.array(2.0, np.float32))
    assert gd.decode_tensor({"dtype": "DT_INT32", "intVal": [4]}).shape == ()


@pytest.mark.parametrize("raw, pattern", [
    ({"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "3"}]}, "tensorContent": "AACAPw=="}, "tensorContent"),
    ({"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "-1"}]}}, "unknown dimensions"),
    ({"dtype": "DT_FLOAT", "tensorShape": {}, "floatVal": [1.0, 2.0]}, "2 values"),
    ({"dtype": "DT_NOPE", "tensorShape": {}}, "DT_NOPE"),
    ({"dtype": "DT_RESOURCE", "tensorShape": {}}, "resource"),
])
def test_bad_tensors(raw, pattern):
    with pytest.raises(ModelFormatError, match=pattern):
        gd.decode_tensor(raw)


# -- nodes, functions and the fixtures ----------------------------------------------------------------

@pytest.mark.parametrize("attr, pattern", [
    ({"type": "DT_NOPE"}, "DT_NOPE"),
    ({"type": 99}, "99"),
    ({"i": "1.5"}, "cannot decode"),
    ({"i": "abc"}, "cannot decode"),
    ({"f": "fast"}, "cannot decode"),
    ({"b": "false"}, "cannot decode"),
    ({"b": 1}, "cannot decode"),
    ({"s": "abc"}, "cannot decode"),  # not base64 (bad padding)
    ({"s": 3}, "cannot decode"),
    ({"weird": 1}, "unknown attr kind 'weird'"),
    ({"list": {"weird": [1]}}, "weird"),
    ({"list": {"i": ["x"]}}, "cannot decode"),
    ({"list": [1, 2]}, "cannot decode"),
    ({"shape": {"dim": [{"size": "x"}]}}, "cannot decode"),
    ({"shape": []}, "cannot decode"),
    ({"func": {}}, "cannot decode"),
    ({"func": {"name": "f", "attr": {"T": {"type": "DT_NOPE"}}}}, "DT_NOPE"),
    ({"tensor": {"dtype": "DT_FLOAT", "tensorContent": "AAA="}}, "cannot decode"),
    ({"tensor": {"dtype": "DT_BOOL", "tensorShape": {"dim": [{"size": "2"}]}, "boolVal": ["yes"]}}, "cannot decode"),
    (3, "object"),
    (None, "object"),
])
def test_bad_attr_names_node_and_attr(attr, pattern):
    raw = {"name": "model/conv1", "op": "Conv2D", "input": ["x"], "attr": {"strides": {"list": {"i": ["1"]}},
                                                                        "bad_attr": attr}}
    with pytest.raises(AttrError, match=pattern) as info:
        gd.decode_node(raw, "modelTopology.node[0]")
    assert info.value.node == "model/conv1" and info.value.attr == "bad_attr"
    assert "'model/conv1'" in str(info.value) and "'bad_attr'" in str(info.value)
    assert isinstance(info.value, GraphError)


def test_bad_attr_inside_a_function():
    library = {"function": [{"signature": {"name": "body", "inputArg": [{"name": "x", "type": "DT_FLOAT"}]},
                             "nodeDef": [{"name": "inner", "op": "Cast", "attr": {"DstT": {"type": "DT_BAD"}}}]}]}
    with pytest.raises(AttrError) as info:
        gd.decode_functions(library)
    assert (info.value.node, info.value.attr) == ("inner", "DstT")


@pytest.mark.parametrize("raw, pattern", [
    ({"op": "Add"}, "no name"),
    ({"name": "", "op": "Add"}, "no name"),
    ({"name": "n"}, "'n' has no op"),
    ({"name": "n", "op": "Add", "input": "a"}, "'n': 'input'"),
    ({"name": "n", "op": "Add", "input": ["a", 1]}, "'n': 'input'"),
    ({"name": "n", "op": "Add", "attr": []}, "'n': 'attr'"),
    ("node", "must be an object"),
])
def test_bad_nodes(raw, pattern):
    with pytest.raises(ModelFormatError, match=pattern):
        gd.decode_node(raw, "modelTopology.node[3]")


def test_decode_node_fields():
    node = gd.decode_node({"name": "a/b", "op": "AddV2", "input": ["x", "y:1", "^z"], "device": "/CPU:0",
                           "attr": {"T": {"type": "DT_FLOAT"}, "_class": {"list": {"s": ["bG9jOkBh"]}}}}, "n")
    assert (node.name, node.op, node.inputs, node.device) == ("a/b", "AddV2", ["x", "y:1", "^z"], "/CPU:0")
    assert node.attrs == {"T": "float32", "_class": ["loc:@a"]}
    bare = gd.decode_node({"name": "c", "op": "NoOp"}, "n")
    assert bare.inputs == [] and bare.attrs == {} and bare.device == ""
    assert gd.decode_nodes(None) == []
    with pytest.raises(ModelFormatError, match="must be a list"):
        gd.decode_nodes({"name": "x"})


@pytest.mark.parametrize("path", FIXTURE_MODELS, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_every_fixture_attr_decodes_as_tensorflow_reads_it(tf, pb, path):
    with open(path) as file:
        topology = json.load(file)["modelTopology"]
    nodes = gd.decode_nodes(topology.get("node"))
    functions = gd.decode_functions(topology.get("library"))
    graph = pb.parse(topology, pb.GraphDef())  # TensorFlow's own reading of the same JSON
    assert [n.name for n in nodes] == [n.name for n in graph.node]
    proto_nodes = [(node, proto) for node, proto in zip(nodes, graph.node)]
    assert set(functions) == {f.signature.name for f in graph.library.function}
    for function in graph.library.function:
        decoded = functions[function.signature.name]
        assert [a.name for a in decoded.input_args] == [a.name for a in function.signature.input_arg]
        assert [a.name for a in decoded.output_args] == [a.name for a in function.signature.output_arg]
        assert [a.dtype for a in decoded.input_args] == [
            _type_name(pb, a.type) if a.type else None for a in function.signature.input_arg]
        assert decoded.ret == dict(function.ret)
        proto_nodes += list(zip(decoded.nodes, function.node_def))
    assert proto_nodes
    count = 0
    for node, proto in proto_nodes:
        assert (node.name, node.op, node.inputs) == (proto.name, proto.op, list(proto.input))
        assert node.attrs.keys() == proto.attr.keys(), node.name
        for key, value in proto.attr.items():
            assert_same(node.attrs[key], expected_attr(tf, pb, value), f"{node.name}.{key}")
            count += 1
    assert count > 0


def test_fixture_attrs_have_the_expected_python_types():
    with open(os.path.join(FIXTURES, "small_cnn", "model.json")) as file:
        nodes = gd.decode_nodes(json.load(file)["modelTopology"]["node"])
    by_op = {}
    for node in nodes:
        by_op.setdefault(node.op, node)
    conv = by_op.get("_FusedConv2D") or by_op["Conv2D"]
    assert conv.attrs["padding"] in ("SAME", "VALID") and isinstance(conv.attrs["strides"], list)
    assert all(type(s) is int for s in conv.attrs["strides"]) and conv.attrs["T"] == "float32"
    placeholder = by_op["Placeholder"]
    assert placeholder.attrs["dtype"] == "float32" and placeholder.attrs["shape"][0] == -1
    const = by_op["Const"]
    assert isinstance(const.attrs["value"], np.ndarray)
