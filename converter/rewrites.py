"""GraphDef rewrites TF.js relies on, applied between grappler passes:

- fold_batch_norms: FusedBatchNorm after Conv2D/DepthwiseConv2dNative -> scaled weights + BiasAdd
- normalize_bias_add: Add/AddV2 right after a contraction with a single consumer -> BiasAdd
- fuse_prelu: Keras's Relu(x) + (-alpha) * Relu(-x) -> Prelu(x, alpha)
- fuse_depthwise: DepthwiseConv2dNative [+ BiasAdd] [+ Relu|Relu6|Elu] -> FusedDepthwiseConv2dNative
- fuse_prelu_into_contraction: _FusedConv2D/_FusedMatMul/FusedDepthwiseConv2dNative + Prelu -> one node

Each takes and returns a GraphDef; the input is not modified.
"""
from __future__ import annotations

import numpy as np
from tensorflow.core.framework import graph_pb2, node_def_pb2
from tensorflow.python.framework import tensor_util

CONTRACTIONS = ("Conv2D", "DepthwiseConv2dNative")
BATCH_NORMS = {"FusedBatchNorm": "epsilon", "FusedBatchNormV3": "epsilon",
               "BatchNormWithGlobalNormalization": "variance_epsilon"}


def node_name(reference: str) -> str:
    """'^a' / 'a:1' -> 'a'."""
    name = reference[1:] if reference.startswith("^") else reference
    head, _, tail = name.rpartition(":")
    return head if head and tail.isdigit() else name


def const_value(node: node_def_pb2.NodeDef) -> np.ndarray:
    return tensor_util.MakeNdarray(node.attr["value"].tensor)


def make_const(name: str, value: np.ndarray, dtype_attr) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["dtype"].CopyFrom(dtype_attr)
    node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(value, value.dtype.type, value.shape))
    return node


class _Rewriter:
    """A working copy of a GraphDef: nodes by name, removals with rerouting, and a final rebuild."""

    def __init__(self, graph_def: graph_pb2.GraphDef):
        self.source = graph_def
        self.nodes: dict[str, node_def_pb2.NodeDef] = {}
        for node in graph_def.node:
            if node.name in self.nodes:
                raise ValueError(f"duplicate node name {node.name!r}")
            copy = node_def_pb2.NodeDef()
            copy.CopyFrom(node)
            self.nodes[node.name] = copy
        self.removed: set[int] = set()       # ids of dropped NodeDefs
        self.added: list[node_def_pb2.NodeDef] = []
        self.forward: dict[str, str] = {}   # removed node -> node its consumers read instead

    def get(self, reference: str) -> node_def_pb2.NodeDef | None:
        return self.nodes.get(node_name(reference))

    def consumers(self, name: str) -> list[node_def_pb2.NodeDef]:
        return [n for n in self.nodes.values() if any(node_name(i) == name for i in n.input)]

    def is_const(self, reference: str) -> bool:
        node = self.get(reference)
        return node is not None and node.op == "Const"

    def remove(self, node: node_def_pb2.NodeDef, forward_to: str | None = None) -> None:
        self.removed.add(id(node))
        if forward_to is not None:
            self.forward[node.name] = forward_to

    def build(self) -> graph_pb2.GraphDef:
        final = [n for n in list(self.nodes.values()) + self.added if id(n) not in self.removed]
        names = {n.name for n in final}
        out = graph_pb2.GraphDef()
        for node in final:
            inputs = []
            for reference in node.input:
                name = target = node_name(reference)
                while target in self.forward:
                    target = self.forward[target]
                if reference.startswith("^"):
                    if target in names:
                        inputs.append("^" + target)
                else:
                    inputs.append(reference if target == name else target)
            del node.input[:]
            node.input.extend(inputs)
            out.node.append(node)
        out.library.CopyFrom(self.source.library)
        out.versions.CopyFrom(self.source.versions)
        return out


def fold_batch_norms(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """Bakes an inference batch norm into the preceding convolution's weights plus a BiasAdd
    (which takes the batch norm's name, so its consumers need no change)."""
    g = _Rewriter(graph_def)
    for node in list(g.nodes.values()):
        if node.op not in BATCH_NORMS:
            continue
        order = ["x", "mean", "var", "beta", "gamma"] if node.op == "BatchNormWithGlobalNormalization" \
            else ["x", "gamma", "beta", "mean", "var"]
        refs = dict(zip(order, node.input))
        conv, add, bias = g.get(refs["x"]), None, None
        if conv is not None and conv.op in ("BiasAdd", "Add", "AddV2"):
            add = conv
            first, second = g.get(add.input[0]), g.get(add.input[1])
            conv, bias = (first, second) if first is not None and first.op in CONTRACTIONS else (second, first)
            if bias is None or bias.op != "Const":
                continue
        if conv is None or conv.op not in CONTRACTIONS or not g.is_const(conv.input[1]):
            continue
        if not all(g.is_const(refs[k]) for k in ("mean", "var", "beta", "gamma")):
            continue
        weights_node = g.get(conv.input[1])
        weights = const_value(weights_node)
        channels = weights.shape[3] if conv.op == "Conv2D" else weights.shape[2] * weights.shape[3]
        mean, var, beta, gamma = (const_value(g.get(refs[k])) for k in ("mean", "var", "beta", "gamma"))
        if bias is not None:
            mean = mean - const_value(bias)
        if any(v.shape != (channels,) for v in (mean, var, beta, gamma)):
            continue
        epsilon = node.attr[BATCH_NORMS[node.op]].f
        scale = 1.0 / np.sqrt((var + epsilon).astype(np.float64))
        if node.op != "BatchNormWithGlobalNormalization" or node.attr["scale_after_normalization"].b:
            scale = scale * gamma
        offset = beta - mean * scale
        scaled = weights * (scale.reshape(weights.shape[2:]) if conv.op == "DepthwiseConv2dNative" else scale)
        new_weights = make_const(conv.name + "_weights", scaled.astype(weights.dtype), weights_node.attr["dtype"])
        offset_node = make_const(conv.name + "_bn_offset", offset.astype(mean.dtype),
                                 g.get(refs["mean"]).attr["dtype"])
        new_conv = node_def_pb2.NodeDef()
        new_conv.CopyFrom(conv)
        new_conv.input[1] = new_weights.name
        bias_add = node_def_pb2.NodeDef(name=node.name, op="BiasAdd", input=[conv.name, offset_node.name])
        bias_add.attr["T"].CopyFrom(conv.attr["T"])
        bias_add.attr["data_format"].CopyFrom(conv.attr["data_format"])
        for dropped in (node, conv) + ((add,) if add is not None else ()):
            g.remove(dropped)
        if len(g.consumers(weights_node.name)) == 1:
            g.remove(weights_node)
        g.added.extend([new_weights, new_conv, offset_node, bias_add])
    return g.build()


def normalize_bias_add(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """Add/AddV2 whose first input is a single-consumer Conv2D/DepthwiseConv2dNative/MatMul -> BiasAdd,
    so that the fusion passes can take it."""
    g = _Rewriter(graph_def)
    for node in g.nodes.values():
        if node.op not in ("Add", "AddV2") or not node.input:
            continue
        parent = g.get(node.input[0])
        if parent is not None and parent.op in CONTRACTIONS + ("MatMul",) and len(g.consumers(parent.name)) == 1:
            node.op = "BiasAdd"
            node.attr["data_format"].s = b"NHWC"
    return g.build()


def fuse_prelu(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """Keras writes PReLU as Relu(x) + neg_alpha * Relu(Neg(x)); TF.js has a Prelu op."""
    g = _Rewriter(graph_def)
    negated: set[str] = set()
    for node in list(g.nodes.values()):
        if node.op not in ("Add", "AddV2") or len(node.input) != 2:
            continue
        relu, mul = g.get(node.input[0]), g.get(node.input[1])
        if relu is None or relu.op != "Relu" or mul is None or mul.op != "Mul":
            continue
        alpha = next((g.get(i) for i in mul.input if g.is_const(i)), None)
        relu_neg = next((g.get(i) for i in mul.input if g.get(i) is not None and g.get(i).op == "Relu"), None)
        if alpha is None or relu_neg is None or len(relu_neg.input) != 1:
            continue
        neg = g.get(relu_neg.input[0])
        if neg is None or neg.op != "Neg" or len(neg.input) != 1 or neg.input[0] != relu.input[0]:
            continue
        relu.op = "Prelu"
        relu.input.append(alpha.name)
        del relu.attr["T"]
        if alpha.name not in negated:
            value = -const_value(alpha)
            alpha.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(value, value.dtype.type, value.shape))
            negated.add(alpha.name)
        for removed in (mul, relu_neg, neg):
            g.remove(removed)
        g.remove(node, forward_to=relu.name)
    return g.build()


def _fuse_depthwise_pass(graph_def: graph_pb2.GraphDef, with_bias: bool, with_activation: bool) -> graph_pb2.GraphDef:
    g = _Rewriter(graph_def)
    for node in list(g.nodes.values()):
        if node.name in g.removed:
            continue
        activation = node if with_activation else None
        if activation is not None:
            if node.op not in ("Relu", "Relu6", "Elu") or len(node.input) != 1:
                continue
            node = g.get(node.input[0])
            if node is None:
                continue
        bias_add = None
        if with_bias:
            if node.op != "BiasAdd" or not node.input:
                continue
            bias_add, node = node, g.get(node.input[0])
            if node is None:
                continue
        if node.op != "DepthwiseConv2dNative":
            continue
        node.op = "FusedDepthwiseConv2dNative"
        node.attr["num_args"].i = 0
        if bias_add is not None:
            node.input.append(bias_add.input[1])
            node.attr["fused_ops"].list.s.append(b"BiasAdd")
            node.attr["num_args"].i += 1
            g.remove(bias_add, forward_to=node.name)
        else:
            node.attr["fused_ops"].list.s.append(b"NoOp")
        if activation is not None:
            node.attr["fused_ops"].list.s.append(activation.op.encode())
            g.remove(activation, forward_to=node.name)
    return g.build()


def fuse_depthwise(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """DepthwiseConv2dNative [+ BiasAdd] [+ Relu/Relu6/Elu] -> FusedDepthwiseConv2dNative, longest match first."""
    for with_bias, with_activation in ((True, True), (True, False), (False, True)):
        graph_def = _fuse_depthwise_pass(graph_def, with_bias, with_activation)
    return graph_def


def fuse_prelu_into_contraction(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """A Prelu right after a fused contraction with no activation becomes that contraction's activation."""
    g = _Rewriter(graph_def)
    for node in list(g.nodes.values()):
        if node.op != "Prelu":
            continue
        fused = g.get(node.input[0])
        if fused is None or fused.op not in ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative") \
                or len(fused.attr["fused_ops"].list.s) > 1:
            continue
        fused.input.append(node.input[1])
        fused.attr["fused_ops"].list.s.append(b"Prelu")
        fused.attr["num_args"].i += 1
        g.remove(node, forward_to=fused.name)
    return g.build()


def remove_unused_control_flow_inputs(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """Lowering control flow leaves 'unused_control_flow_input' placeholders nothing reads."""
    g = _Rewriter(graph_def)
    for node in g.nodes.values():
        if node.op == "Placeholder" and node.name.startswith("unused_control_flow_input"):
            g.remove(node)
    return g.build()
