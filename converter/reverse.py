"""TF.js graph model -> TensorFlow GraphDef that TensorFlow runs: constants filled from the weights
(dequantized), TF.js-only fused ops expanded back into standard TensorFlow ops."""
from __future__ import annotations

import os
import re

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.framework import attr_value_pb2, graph_pb2, node_def_pb2
from tensorflow.python.framework import tensor_util

from engine.errors import ConversionError
from engine.io import load_model_json, read_weight_arrays

FUSED_OPS = ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative")
CONTRACTION_OF = {"_FusedConv2D": "Conv2D", "_FusedMatMul": "MatMul",
                  "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
# attrs each plain contraction op accepts (the fused ops carry extra ones)
CONTRACTION_ATTRS = {
    "Conv2D": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"),
    "DepthwiseConv2dNative": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    "MatMul": ("T", "transpose_a", "transpose_b"),
}


def _fill_constants(nodes, weights: dict[str, np.ndarray]) -> None:
    for node in nodes:
        if node.op != "Const" or node.name not in weights:
            continue
        dtype = tf.as_dtype(node.attr["dtype"].type)
        value = weights[node.name]
        if dtype == tf.string:
            value = np.array(value, dtype=object)
        else:
            value = value.astype(dtype.as_numpy_dtype)
        node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(value, dtype, value.shape))


def _node(name: str, op: str, inputs: list[str], T=None, **attrs) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op=op, input=inputs)
    if T is not None:
        node.attr["T"].CopyFrom(T)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(value)
    return node


def _activation(name: str, source: str, kind: str, T, alpha: float, prelu: str | None) -> list[node_def_pb2.NodeDef]:
    """Nodes computing activation `kind` of `source`; the last one is named `name`."""
    if kind in ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh"):
        return [_node(name, kind, [source], T)]
    if kind == "LeakyRelu":
        return [_node(name, "LeakyRelu", [source], T, alpha=attr_value_pb2.AttrValue(f=alpha))]
    if kind == "Prelu":
        return prelu_nodes(name, source, prelu, T)
    raise ConversionError(f"node {name!r}: unknown fused activation {kind!r}")


def prelu_nodes(name: str, x: str, alpha: str, T) -> list[node_def_pb2.NodeDef]:
    """prelu(x) = relu(x) + alpha * min(x, 0), with standard ops."""
    return [
        _node(f"{name}/positive", "Relu", [x], T),
        _node(f"{name}/negative", "Sub", [x, f"{name}/positive"], T),
        _node(f"{name}/scaled", "Mul", [alpha, f"{name}/negative"], T),
        _node(name, "AddV2", [f"{name}/positive", f"{name}/scaled"], T),
    ]


def _unfuse(node: node_def_pb2.NodeDef) -> list[node_def_pb2.NodeDef]:
    """A fused contraction -> contraction, then bias or batch norm, then activation; the last node
    keeps the fused node's name so its consumers stay wired."""
    fused_ops = [s.decode() for s in node.attr["fused_ops"].list.s]
    num_args = node.attr["num_args"].i
    data, args = list(node.input[:2]), list(node.input[2:2 + num_args])
    control = [i for i in node.input if i.startswith("^")]
    T = node.attr["T"]
    contraction = _node(f"{node.name}/contraction", CONTRACTION_OF[node.op], data + control, T)
    for key in CONTRACTION_ATTRS[contraction.op]:
        if key in node.attr and key != "T":
            contraction.attr[key].CopyFrom(node.attr[key])
    out, current = [contraction], contraction.name
    extra = fused_ops[0] if fused_ops and fused_ops[0] in ("BiasAdd", "FusedBatchNorm", "NoOp") else None
    activations = fused_ops[1:] if extra else fused_ops
    if extra == "BiasAdd":
        # TF.js broadcasts the bias (grappler even fuses `MatMul + [n, k] tensor`): channels-last
        # it is AddV2; channels-first it must be a vector, as BiasAdd wants.
        if "data_format" in node.attr and node.attr["data_format"].s.startswith(b"NC"):
            out.append(_node(f"{node.name}/bias", "BiasAdd", [current, args[0]], T,
                             data_format=node.attr["data_format"]))
        else:
            out.append(_node(f"{node.name}/bias", "AddV2", [current, args[0]], T))
        current, args = out[-1].name, args[1:]
    elif extra == "FusedBatchNorm":
        bn = _node(f"{node.name}/batch_norm", "FusedBatchNormV3", [current] + args[:4], T,
                   U=attr_value_pb2.AttrValue(type=T.type), epsilon=node.attr["epsilon"],
                   is_training=attr_value_pb2.AttrValue(b=False))
        out.append(bn)
        current, args = bn.name, args[4:]
    if activations:
        alpha = node.attr["leakyrelu_alpha"].f if "leakyrelu_alpha" in node.attr else 0.2
        out += _activation(node.name, current, activations[0], T, alpha, args[0] if args else None)
    else:
        out.append(_node(node.name, "Identity", [current], T))
    return out


def _is_tfjs_bias_add(node, constants: dict) -> bool:
    """TF.js's BiasAdd broadcasts any bias (the official converter turns `MatMul + [1, n] constant`
    into one); TensorFlow's wants a vector."""
    bias = constants.get(node.input[1].split(":")[0]) if node.op == "BiasAdd" and len(node.input) > 1 else None
    return bias is not None and len(bias.attr["value"].tensor.tensor_shape.dim) != 1


def expand_tfjs_ops(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """Replaces the ops only TF.js runs (fused contractions, Prelu, broadcasting BiasAdd) by
    standard TensorFlow ops."""
    def rewrite(nodes):
        constants = {n.name: n for n in nodes if n.op == "Const"}
        out = []
        for node in nodes:
            if _is_tfjs_bias_add(node, constants):
                node.op = "AddV2"
                del node.attr["data_format"]
                out.append(node)
            elif node.op in FUSED_OPS:
                out += _unfuse(node)
            elif node.op == "Prelu":
                out += prelu_nodes(node.name, node.input[0], node.input[1], node.attr["T"] if "T" in node.attr
                                   else attr_value_pb2.AttrValue(type=tf.float32.as_datatype_enum))
            else:
                out.append(node)
        return out

    result = graph_pb2.GraphDef()
    result.CopyFrom(graph_def)
    del result.node[:]
    result.node.extend(rewrite(graph_def.node))
    for function in result.library.function:
        nodes = rewrite(list(function.node_def))
        del function.node_def[:]
        function.node_def.extend(nodes)
    return result


def load_as_graph_def(model_json: str) -> tuple[graph_pb2.GraphDef, dict]:
    """The TensorFlow GraphDef of a TF.js graph model, and its signature (as in model.json)."""
    artifacts = load_model_json(model_json)
    if artifacts.format != "graph-model":
        raise ConversionError(f"{model_json} is a {artifacts.format}, not a graph model")
    graph_def = json_format.ParseDict(artifacts.model_topology, graph_pb2.GraphDef(), ignore_unknown_fields=True)
    weights = read_weight_arrays(artifacts.weights_manifest, artifacts.base)
    _fill_constants(graph_def.node, weights)
    for function in graph_def.library.function:
        _fill_constants(function.node_def, weights)
        _unprefix_constants(function)
    return expand_tfjs_ops(graph_def), artifacts.signature or {}


def _unprefix_constants(function) -> None:
    """The TF.js converter names a function's constants '<function>/<const>' so that weight names
    are unique; TensorFlow refuses such names inside a function body (they start with '_')."""
    prefix = function.signature.name + "/"
    renamed = {}
    for node in function.node_def:
        if node.op == "Const" and node.name.startswith(prefix):
            renamed[node.name] = node.name[len(prefix):]
            node.name = renamed[node.name]
    for node in function.node_def:
        for i, reference in enumerate(node.input):
            control = reference.startswith("^")
            name, sep, rest = reference.lstrip("^").partition(":")
            if name in renamed:
                node.input[i] = ("^" if control else "") + renamed[name] + sep + rest


def run_graph_model_in_tensorflow(model_json: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs a TF.js graph model with TensorFlow itself: the reference for what the engine computes
    from exactly these (possibly quantized) weights. `inputs` are keyed by signature key."""
    graph_def, signature = load_as_graph_def(os.fspath(model_json))
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    feeds = {signature["inputs"][key]["name"]: value for key, value in inputs.items()}
    fetches = {key: info["name"] for key, info in signature["outputs"].items()}
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(fetches, feeds)


def _serving_function(graph_def: graph_pb2.GraphDef, signature: dict):
    """A tf.function over the imported graph: inputs and outputs keyed as the model's signature
    (or its Placeholders and unconsumed nodes when it has none)."""
    inputs = {signature_key(key): _tensor_name(info["name"]) for key, info in (signature.get("inputs") or {}).items()}
    outputs = {signature_key(key): _tensor_name(info["name"]) for key, info in (signature.get("outputs") or {}).items()}
    if not inputs:
        inputs = {n.name: f"{n.name}:0" for n in graph_def.node if n.op == "Placeholder"}
    if not outputs:
        consumed = {i.lstrip("^").split(":")[0] for n in graph_def.node for i in n.input}
        outputs = {n.name: f"{n.name}:0" for n in graph_def.node
                   if n.name not in consumed and n.op not in ("Const", "NoOp", "Placeholder")}
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    graph = wrapped.graph
    feeds = [graph.get_tensor_by_name(name) for name in inputs.values()]
    fetches = {key: graph.get_tensor_by_name(name) for key, name in outputs.items()}
    pruned = wrapped.prune(feeds, fetches)
    specs = [tf.TensorSpec(t.shape, t.dtype, name=key) for key, t in zip(inputs, feeds)]

    @tf.function(input_signature=specs)
    def serve(*args):
        return pruned(*args)

    return serve


def _tensor_name(name: str) -> str:
    return name if re.search(r":\d+$", name) else f"{name}:0"


def signature_key(key: str) -> str:
    """A SavedModel signature key from a TF.js one ('input_tensor:0' -> 'input_tensor_0')."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key)
    return name if name and not name[0].isdigit() else f"t_{name}"


def to_saved_model(model_json: str, folder: str) -> None:
    """Writes a TF.js graph model as a SavedModel TensorFlow loads and serves (signature
    'serving_default', keyed like the model's signature)."""
    graph_def, signature = load_as_graph_def(os.fspath(model_json))
    module = tf.Module()
    module.serve = _serving_function(graph_def, signature)
    tf.saved_model.save(module, folder, signatures={"serving_default": module.serve})


def to_frozen_graph(model_json: str, path: str) -> None:
    """Writes a TF.js graph model as a frozen GraphDef (.pb) with its weights as constants."""
    graph_def, _ = load_as_graph_def(os.fspath(model_json))
    with open(path, "wb") as file:
        file.write(graph_def.SerializeToString())
