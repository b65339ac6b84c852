"""Regressions for what fuzzing real model files found (tests/test_fuzz.py): each malformed file now
ends in an engine.errors exception that names what is wrong, never in a raw KeyError/TypeError/...,
a huge allocation or a loop that never ends. The last ones are bugs it found outside the loader
(kernels sizing outputs from values, the RNN builder, v1 control flow, loops without a limit)."""
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.bench import example_inputs
from engine.errors import AttrError, GraphError, ModelFormatError, ResourceLimitError, UnsafePathError, WeightsError
from engine.io import Limits, graph_def, load_model_json, parse_model_json, read_weight_arrays, resolve_weight_path
from engine.layers.config import parse_model

FIXTURES = Path(__file__).parent / "fixtures"
CNN = "StatefulPartitionedCall/small_cnn_1"


def _model(tmp_path, fixture, mutate=None) -> Path:
    """A copy of a fixture's folder with its model.json changed by `mutate(data)`."""
    folder = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, folder)
    if mutate is not None:
        data = json.loads((folder / "model.json").read_text())
        mutate(data)
        (folder / "model.json").write_text(json.dumps(data))
    return folder


def _node(data, name):
    return next(n for n in data["modelTopology"]["node"] if n["name"] == name)


def _weight(data, name):
    return next(w for g in data["weightsManifest"] for w in g["weights"] if w["name"] == name)


def _load_and_run(folder):
    model = engine.load_model(str(folder), backend="cpu")
    return model.predict(example_inputs(model))


def _layer(data, name):
    return next(layer for layer in data["modelTopology"]["model_config"]["config"]["layers"] if layer["name"] == name)


# -- graph models: tensors and shapes ------------------------------------------------------------

def test_huge_const_tensor_is_refused_before_allocating(tmp_path):
    """A Const's value tensorShape of 10**6 x 10**6 made decode_tensor allocate terabytes (MemoryError)."""
    def mutate(data):
        data["modelTopology"]["node"].append({"name": "big", "op": "Const", "attr": {
            "dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {"dtype": "DT_FLOAT", "floatVal": [0.5], "tensorShape": {
                "dim": [{"size": "1000000"}, {"size": "1000000"}]}}}}})
    with pytest.raises(ResourceLimitError, match=r"node 'big', attr 'value': tensor of shape \[1000000, 1000000\] "
                                                 r"needs 4000000000000 bytes, over the limit"):
        _load_and_run(_model(tmp_path, "small_cnn", mutate))


def test_dims_beyond_int64_and_int32(tmp_path):
    """A dim of 10**30 overflowed numpy (OverflowError); one of 2**40 next to a 0 made numpy refuse to
    shape an empty array (ValueError)."""
    with pytest.raises(ModelFormatError, match="int64 range"):
        graph_def.decode_shape({"dim": [{"size": str(10 ** 30)}]})
    with pytest.raises(ResourceLimitError, match="dimension above"):
        graph_def.decode_tensor({"dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "0"}, {"size": str(2 ** 40)}]}})
    manifest = [{"paths": [], "weights": [{"name": "w", "shape": [0, 2 ** 40], "dtype": "float32"}]}]
    with pytest.raises(ResourceLimitError, match="'w'.*dimension above"):
        read_weight_arrays(manifest, str(tmp_path))


@pytest.mark.parametrize("shape, pattern", [
    ("VALID", "must be an object"), ([{"dim": []}], "must be an object"), ({"dim": None}, None),
    ({"dim": 3}, "'dim' must be a list"), ({"dim": ["3"]}, "dim must be an object"),
    ({"dim": [{"size": "-"}]}, "expected an integer"), ({"dim": [{"size": 2.5}]}, "expected an integer"),
    ({"dim": [{"size": True}]}, "expected an integer"),
])
def test_malformed_shapes(shape, pattern):
    if pattern is None:
        assert graph_def.decode_shape(shape) == ()
        return
    with pytest.raises(ModelFormatError, match=pattern):
        graph_def.decode_shape(shape)


def test_symbolic_unknown_dims_stay_as_written():
    """Grappler's _input_shapes name unknown dims -2, -3, ...: they decode as TensorFlow reads them."""
    assert graph_def.decode_shape({"dim": [{"size": "-2"}, {"size": "-7"}, {"size": "5"}]}) == (-2, -7, 5)


@pytest.mark.parametrize("entry, pattern", [
    ({"tensorShape": "VALID"}, r"signature.inputs\['image'\]: a tensor shape must be an object"),
    ({"tensorShape": {"dim": [{"size": "-"}]}}, r"signature.inputs\['image'\]: tensor shape dim size"),
    ({"dtype": ["DT_FLOAT"]}, r"signature.inputs\['image'\]: dtype must be a DataType"),
    ({"dtype": "DT_NOPE"}, r"signature.inputs\['image'\]: unknown TensorFlow dtype"),
    ({"name": 3}, r"signature.inputs\['image'\] has no tensor name"),
])
def test_malformed_signature_entries_name_the_entry(entry, pattern):
    """These reached GraphModel's signature reader and failed there with AttributeError/TypeError/ValueError."""
    data = json.loads((FIXTURES / "small_cnn" / "model.json").read_text())
    data["signature"]["inputs"]["image"].update(entry)
    with pytest.raises(ModelFormatError, match=pattern):
        parse_model_json(data, str(FIXTURES / "small_cnn"))


@pytest.mark.parametrize("value, pattern", [
    ({"i": "Infinity"}, "expected an integer"), ({"i": 1e308 * 10}, "expected an integer"),
    ({"i": 1.5}, "expected an integer"), ({"i": True}, "expected an integer"), ({"i": str(2 ** 63)}, "int64 range"),
    ({"f": [1]}, "expected a number"), ({"s": 5}, "expected a base64 string"),
    ({"list": ["i"]}, "list must be an object"),
    ({"list": {"i": "123"}}, "'i' must be a list"), ({"type": ["DT_FLOAT"]}, "dtype must be a DataType"),
    ({"func": {"name": "f", "attr": ["x"]}}, "'attr' must be an object"), ({"func": {}}, "function attr needs a name"),
    ({"tensor": {"dtype": "DT_INT32", "intVal": "5"}}, "'intVal' must be a list"),
    ({"tensor": {"dtype": "DT_STRING", "tensorShape": {"dim": [{"size": "1"}]}, "stringVal": [3]}}, "base64 string"),
])
def test_malformed_attr_values_are_attr_errors(value, pattern):
    """int(inf) raised OverflowError and int(1.5) silently truncated; lists and strings of the wrong
    JSON type raised TypeError/AttributeError outside the caught set."""
    with pytest.raises(AttrError, match=f"node 'n', attr 'a': .*{pattern}"):
        graph_def.decode_node({"name": "n", "op": "Identity", "attr": {"a": value}}, "node[0]")


def test_unset_attr_values_are_absent_so_kernel_defaults_apply(tmp_path):
    """An empty AttrValue ({}) decoded to None, which overrode the kernel's default: a depthwise
    convolution with data_format {} died in conv_util with AttributeError."""
    assert "a" not in graph_def.decode_node({"name": "n", "op": "Identity", "attr": {"a": {}}}, "x").attrs

    def mutate(data):
        _node(data, f"{CNN}/depthwise_1/depthwise")["attr"]["data_format"] = {}
    reference = _load_and_run(_model(tmp_path / "a", "small_cnn"))
    np.testing.assert_array_equal(_load_and_run(_model(tmp_path / "b", "small_cnn", mutate)), reference)


@pytest.mark.parametrize("library, pattern", [
    ({"function": {"x": 1}}, "library.function must be a list"),
    ({"function": [{"signature": {"name": "f", "inputArg": [{"type": "DT_FLOAT"}]}}]}, r"inputArg\[0\] has no name"),
    ({"function": [{"signature": {"name": "f", "inputArg": {"name": "a"}}}]}, "inputArg must be a list"),
    ({"function": [{"signature": {"name": "f", "outputArg": [{"name": "o", "type": ["DT_FLOAT"]}]}}]},
     "outputArg 'o': dtype must be a DataType"),
    ({"function": [{"signature": {"name": "f"}, "ret": ["o"]}]}, "'ret' must map"),
    ({"function": [{"signature": {"name": "f"}, "ret": {"o": 3}}]}, "'ret' must map"),
    ({"function": [{"signature": {"name": "f"}}, {"signature": {"name": "f"}}]}, "function 'f' twice"),
])
def test_malformed_function_library(library, pattern):
    """These raised KeyError/TypeError/AttributeError from the library decoder."""
    with pytest.raises(ModelFormatError, match=pattern):
        graph_def.decode_functions(library)


# -- graph models: structure ---------------------------------------------------------------------

def test_node_with_too_few_inputs_for_its_op(tmp_path):
    """A convolution without inputs crashed the load-time Pad folding with IndexError; an Enter without
    its input crashed the dataflow executor."""
    def mutate(data):
        node = _node(data, f"{CNN}/conv1_1/BiasAdd")
        node["input"] = node["input"][:1]
    with pytest.raises(GraphError, match=r"conv1_1/BiasAdd' \(_FusedConv2D\) has 1 data input\(s\); _FusedConv2D "
                                         r"takes at least 2"):
        _load_and_run(_model(tmp_path, "small_cnn", mutate))

    def no_enter_input(data):
        enter = next(n for n in data["modelTopology"]["node"] if n["op"] == "Enter")
        enter["input"] = []
    with pytest.raises(GraphError, match=r"\(Enter\) has 0 data input\(s\); Enter takes 1"):
        _load_and_run(_model(tmp_path, "loop_cf1", no_enter_input))


def test_node_missing_an_attr_its_kernel_requires(tmp_path):
    def mutate(data):
        del _node(data, f"{CNN}/depthwise_1/depthwise")["attr"]["padding"]
    with pytest.raises(AttrError,
                       match=r"depthwise_1/depthwise', attr 'padding': required by FusedDepthwiseConv2dNative"):
        engine.load_model(str(_model(tmp_path, "small_cnn", mutate)), backend="cpu")


def test_reading_a_second_output_of_a_const(tmp_path):
    """This was a KeyError from the executor at run time."""
    def mutate(data):
        node = _node(data, f"{CNN}/conv1_1/BiasAdd")
        node["input"][1] += ":1"
    with pytest.raises(GraphError, match=r"conv1_1/BiasAdd' reads output 1 of .*conv1_1/convolution/ReadVariableOp', "
                                         r"a Const with one output"):
        engine.load_model(str(_model(tmp_path, "small_cnn", mutate)), backend="cpu")


def test_non_count_list_length_attr():
    """An output-arg list length attr that is not a count raised TypeError/ValueError from int()."""
    from engine.graph.graph import build_graph
    nodes = [graph_def.decode_node(raw, "n") for raw in [
        {"name": "g", "op": "RaggedGather", "attr": {"OUTPUT_RAGGED_RANK": {"s": "eA=="}}},
        {"name": "y", "op": "Identity", "input": ["g:output_dense_values:0"]}]]
    with pytest.raises(AttrError, match="'g', attr 'OUTPUT_RAGGED_RANK': must be a list or a non-negative count"):
        build_graph(nodes)


@pytest.mark.parametrize("change, pattern", [
    (lambda w: w.update(shape=[3, 3, 8]), r"has shape \[3, 3, 8\] in the weightsManifest but its Const node declares "
                                           r"\[3, 3, 8, 1\]"),
    (lambda w: w.update(dtype="int32"), "is 'int32' in the weightsManifest but its Const node holds 'DT_FLOAT'"),
])
def test_weight_disagreeing_with_its_const_node(tmp_path, change, pattern):
    """A depthwise filter of rank 3 in the manifest crashed the load-time fusion with IndexError."""
    def mutate(data):
        change(_weight(data, f"{CNN}/depthwise_1/depthwise/ReadVariableOp"))
    with pytest.raises(ModelFormatError, match=pattern):
        engine.load_model(str(_model(tmp_path, "small_cnn", mutate)), backend="cpu")


def test_const_whose_weight_is_missing(tmp_path):
    """A renamed weight left its Const node with the converter's stub value, read as zeros: the
    loop's step of 0 made loop_cf1 run forever."""
    step = "PartitionedCall/while/body/_5/while/add/y"

    def mutate(data):
        _weight(data, step)["name"] = step + ":out:0"
    folder = _model(tmp_path, "loop_cf1", mutate)
    with pytest.raises(ModelFormatError, match=f"Const node '{step}' has no value: no weight of that name"):
        engine.load_model(str(folder), backend="cpu")


# -- model.json as bytes -------------------------------------------------------------------------

@pytest.mark.parametrize("raw, pattern", [
    (b'{"format": "layers-model", "un\xed\xa0\x80its": 1}', "not UTF-8"),  # a lone surrogate json.loads let through
    (b"[" * 100000 + b"]" * 100000, "nests JSON too deeply"),
    (b'{"format": ' + b"1" * 5000 + b"}", "not valid JSON"),  # over Python's int digit limit: ValueError
], ids=["lone-surrogate", "deep-nesting", "long-integer"])
def test_model_json_bytes(tmp_path, raw, pattern):
    (tmp_path / "model.json").write_bytes(raw)
    with pytest.raises(ModelFormatError, match=pattern):
        load_model_json(tmp_path)


def test_utf8_bom_is_accepted(tmp_path):
    (tmp_path / "model.json").write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "small_cnn" / "model.json").read_bytes())
    assert load_model_json(tmp_path).format == "graph-model"


# -- weights manifest ----------------------------------------------------------------------------

def test_unhashable_quantization_dtype(tmp_path):
    """A list as quantization dtype raised TypeError (unhashable) from the dict lookup."""
    manifest = [{"paths": [], "weights": [{"name": "w", "shape": [1], "dtype": "float32",
                                           "quantization": {"dtype": ["float16"]}}]}]
    with pytest.raises(WeightsError, match="'w': unknown quantization"):
        read_weight_arrays(manifest, str(tmp_path))


@pytest.mark.parametrize("path", ["group1\x00.bin", "group1%00.bin", "a\nb.bin"])
def test_weight_path_with_control_characters(tmp_path, path):
    """A NUL in a weight path made open() raise ValueError."""
    with pytest.raises(UnsafePathError, match="control characters"):
        resolve_weight_path(str(tmp_path), path)


def test_read_bytes_with_a_nul_in_the_path():
    from engine.io.fetch import read_bytes
    with pytest.raises(WeightsError, match="cannot read"):
        read_bytes("model\x00.json")


@pytest.mark.parametrize("value, expected", [("1024", 1024), ("512M", 512 << 20), ("2G", 2 << 30), ("3gib", 3 << 30)])
def test_max_tensor_bytes_from_the_environment(value, expected):
    code = "from engine.io import Limits; print(Limits.max_tensor_bytes)"
    result = subprocess.run([sys.executable, "-c", code], env={"TFGL_MAX_TENSOR_BYTES": value, "PATH": ""},
                            capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0 and int(result.stdout) == expected, result.stderr


def test_bad_max_tensor_bytes_warns_instead_of_breaking_import():
    """int('2GB') raised ValueError while importing engine."""
    code = ("import warnings; warnings.simplefilter('always'); "
            "from engine.io import Limits; print(Limits.max_tensor_bytes)")
    result = subprocess.run([sys.executable, "-c", code], env={"TFGL_MAX_TENSOR_BYTES": "lots", "PATH": ""},
                            capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0 and int(result.stdout) == 2 * 1024 ** 3
    assert "not a byte count" in result.stderr


def test_limit_applies_to_inline_tensors(monkeypatch):
    monkeypatch.setattr(Limits, "max_tensor_bytes", 100)
    raw = {"name": "c", "op": "Const", "attr": {"value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {
        "dim": [{"size": "26"}]}, "floatVal": [1.0]}}}}
    with pytest.raises(ResourceLimitError, match="node 'c', attr 'value': tensor of shape \\[26\\] needs 104 bytes"):
        graph_def.decode_node(raw, "n")


# -- layers models -------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture, mutate, pattern", [
    ("layers_lstm", lambda d: _layer(d, "lstm_a").update(inbound_nodes=10 ** 30), "inbound_nodes must be a list"),
    ("layers_lstm", lambda d: _layer(d, "lstm_a")["inbound_nodes"][0][0].__setitem__(1, "0"), "bad inbound node"),
    ("layers_lstm", lambda d: _layer(d, "lstm_b").__setitem__("config", {"name": "lstm_b"}), "no 'units'"),
    ("layers_lstm", lambda d: _layer(d, "lstm_b").__setitem__("config", "lstm"), "config must be an object"),
    ("layers_lstm", lambda d: _layer(d, "lstm_b")["config"].update(units="6"), "units must be a positive integer"),
    ("layers_lstm", lambda d: _layer(d, "lstm_b")["config"].update(return_sequences="no"), "true or false"),
    ("layers_cnn", lambda d: _layer(d, "bn")["config"].update(epsilon="small"), "epsilon must be a number"),
    ("layers_cnn", lambda d: _layer(d, "conv")["config"].update(kernel_size=[3, 0]), "kernel_size must be a positive"),
    ("layers_cnn", lambda d: _layer(d, "conv")["config"].update(padding=["same"]), "padding must be a string"),
    ("layers_cnn", lambda d: _layer(d, "conv")["config"].update(activation=["relu"]), "activation must be"),
    ("layers_cnn", lambda d: _layer(d, "image")["config"].update(batch_input_shape=[None, "12", 12, 3]),
     "batch_input_shape must be a list of non-negative integers"),
    ("layers_cnn", lambda d: _layer(d, "image")["config"].update(batch_input_shape=[None, -12, 12, 3]),
     "batch_input_shape must be a list of non-negative integers"),
    ("layers_cnn", lambda d: _layer(d, "bn").update(name="conv", config={**_layer(d, "bn")["config"], "name": "conv"}),
     "two layers are named 'conv'"),
    ("layers_mlp_keras", lambda d: _layer(d, "hidden")["inbound_nodes"][0].update(kwargs=True), "kwargs an object"),
    ("layers_mlp_keras", lambda d: _layer(d, "hidden")["inbound_nodes"][0].update(args=[1, 2, 3]),
     "has no input tensors"),
    ("layers_mlp_keras", lambda d: _layer(d, "hidden")["inbound_nodes"][0]["args"][0]["config"].update(
        keras_history=["a"]), "bad __keras_tensor__ reference"),
])
def test_malformed_layers_configs_name_layer_and_key(tmp_path, fixture, mutate, pattern):
    """Each raised KeyError, TypeError, AttributeError, ValueError or IndexError, at load time or
    while building the graph on the first predict."""
    with pytest.raises(ModelFormatError, match=pattern):
        _load_and_run(_model(tmp_path, fixture, mutate))


def test_sequential_with_a_bad_first_layer():
    with pytest.raises(ModelFormatError, match="bad first layer"):
        parse_model({"class_name": "Sequential", "config": {"name": "s", "layers": ["Dense"]}})
    with pytest.raises(ModelFormatError, match="input_shape must be a list"):
        parse_model({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2, "input_shape": 3}}]}})


def test_every_fixture_still_loads_and_runs(tmp_path):
    for folder in sorted(p for p in FIXTURES.iterdir() if (p / "model.json").exists()):
        outputs = _load_and_run(folder)
        values = outputs.values() if isinstance(outputs, dict) else [outputs]
        assert all(isinstance(v, np.ndarray) for v in values), folder.name


# -- found by the fuzzer outside the loader, fixed there (c26484d) --------------------------------

def test_input_names_an_output_the_source_does_not_have(tmp_path):
    """Was a KeyError from the executor."""
    def mutate(data):
        for node in data["modelTopology"]["node"]:
            node["input"] = [i + ":7" if i == f"{CNN}/pointwise_1/Elu" else i for i in node.get("input", [])]
    with pytest.raises(GraphError, match="pointwise_1/Elu:7, an output .* does not produce"):
        _load_and_run(_model(tmp_path, "small_cnn", mutate))


def test_contraction_with_a_rank_1_filter(tmp_path):
    """Was an IndexError from the load-time fusion."""
    def mutate(data):
        node = _node(data, "StatefulPartitionedCall/mobilenetv2_0.35_96_1/block_12_depthwise_BN_1/batchnorm/mul_1")
        node["op"] = "DepthwiseConv2dNative"
        node["attr"].update({"strides": {"list": {"i": ["1", "1", "1", "1"]}},
                             "padding": {"s": base64.b64encode(b"SAME").decode()}})
    with pytest.raises(engine.errors.KernelError, match="batchnorm/mul_1' \\(DepthwiseConv2dNative\\)"):
        _load_and_run(_model(tmp_path, "mobilenet_v2", mutate))


def test_switch_on_a_vector_predicate(tmp_path):
    """Was a ValueError from the dataflow executor."""
    def mutate(data):
        _node(data, "PartitionedCall/while/body/_5/while/Sum")["input"] = [
            "PartitionedCall/while/Func/PartitionedCall/input/_0_switch/_20:1", "PartitionedCall/while/enter/_8"]
    with pytest.raises(GraphError, match="the predicate must be a scalar"):
        _load_and_run(_model(tmp_path, "loop_cf1", mutate))


def test_next_iteration_outside_a_loop(tmp_path):
    """Was an IndexError from the dataflow executor."""
    def mutate(data):
        _node(data, "PartitionedCall/while/enter/_9")["op"] = "NextIteration"
    with pytest.raises(GraphError, match="runs outside any loop frame"):
        _load_and_run(_model(tmp_path, "loop_cf1", mutate))


def test_tensor_list_handle_fed_to_shape(tmp_path):
    """Was an AttributeError from the Shape kernel."""
    def mutate(data):
        _node(data, "StatefulPartitionedCall/lstm_model_1/lstm_b_1/Shape")["input"] = [
            "StatefulPartitionedCall/lstm_model_1/lstm_a_1/while/StatefulPartitionedCall/lstm_model_1/lstm_a_1/"
            "TensorArrayUnstack/TensorListFromTensor_switch/_38"]
    with pytest.raises(engine.errors.KernelError, match="lstm_b_1/Shape' \\(Shape\\)"):
        _load_and_run(_model(tmp_path, "lstm_cf1", mutate))


# -- found by the fuzzer outside the loader -----------------------------------------------------

def test_switch_on_a_tensor_list_predicate(tmp_path):
    def mutate(data):
        switch = data["modelTopology"]["node"][79]
        assert switch["name"].endswith("TensorListFromTensor_switch/_38")
        switch["input"].reverse()  # the predicate is now the TensorList handle, the data the LoopCond
    with pytest.raises(GraphError, match="predicate must be a scalar tensor"):
        _load_and_run(_model(tmp_path, "lstm_cf1", mutate))


@pytest.mark.parametrize("op, args", [
    ("fill", (np.array([1 << 20, 1 << 20], np.int32), np.float32(1))),           # 4 TiB
    ("tile", (np.ones((4, 4), np.float32), np.array([1 << 16, 1 << 16], np.int32))),
    ("one_hot", (np.arange(1000, dtype=np.int32), np.int32(1 << 30), np.float32(1), np.float32(0))),
])
def test_value_sized_outputs_are_refused_before_allocating(monkeypatch, op, args):
    """Kernels that size their output from input values check engine.io.Limits first."""
    monkeypatch.setattr(Limits, "max_tensor_bytes", 1 << 20)
    with pytest.raises(ResourceLimitError, match="over the limit"):
        getattr(engine.ops, op)(*args)


def test_tensor_list_reserve_of_a_huge_count_is_refused(monkeypatch):
    from engine.backends import get_backend
    from engine.tensors import Tensor
    monkeypatch.setattr(Limits, "max_tensor_bytes", 1 << 20)
    with pytest.raises(ResourceLimitError):
        get_backend("cpu").run("TensorListReserve", [Tensor(np.array([-1], np.int32), "int32"),
                                                     Tensor(np.array(1 << 30, np.int32), "int32")],
                               {"element_dtype": "float32"})


def test_rnn_units_far_beyond_its_weights(tmp_path):
    def mutate(data):
        _layer(data, "lstm_b")["config"]["units"] = 2 ** 31 - 1
    with pytest.raises(ModelFormatError, match="units is 2147483647 but its recurrent_kernel has shape"):
        _load_and_run(_model(tmp_path, "layers_lstm", mutate))


def test_loop_with_a_zero_step_stops_at_the_iteration_limit(tmp_path, monkeypatch):
    folder = _model(tmp_path, "loop_cf1")
    shard = bytearray((folder / "group1-shard1of1.bin").read_bytes())
    shard[24:32] = bytes(8)  # while/add/y and while/add_1/y: the steps of i and of the loop counter
    (folder / "group1-shard1of1.bin").write_bytes(bytes(shard))
    monkeypatch.setattr(Limits, "max_loop_iterations", 1000)
    with pytest.raises(GraphError, match="did not end after 1000 iterations"):
        _load_and_run(folder)
