"""Load-time fusion. A zero Pad before a VALID convolution (fused or not) becomes its explicit padding; a
convolution or matmul followed by a constant per-channel scale (Mul), a constant bias
(Add/AddV2/BiasAdd, either operand), a residual (AddN of it and another tensor, before the bias) and
an activation becomes one TF.js fused op (_FusedConv2D /
FusedDepthwiseConv2dNative / _FusedMatMul) with the scale folded into the weights.

Keras 3 exports leave batch norms as Mul + AddV2 after convolutions (the official converter only
folds part of them), so this saves a pass over memory per op on the CPU and a draw per op on the GPU.
The result is numerically the graph TensorFlow itself would fold. Nodes fused away keep their names
in the original graph: GraphModel runs that one for fetches of an intermediate tensor.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.graph.graph import Graph, Node

FUSED_OF = {"Conv2D": "_FusedConv2D", "DepthwiseConv2dNative": "FusedDepthwiseConv2dNative", "MatMul": "_FusedMatMul"}
ACTIVATIONS = ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu")
BIASES = ("Add", "AddV2", "BiasAdd")
# ops whose zero Pad input folds into EXPLICIT padding, with or without a fused epilogue (the official
# converter fuses tf.keras batch norms before tfgl sees the graph)
PADDED_OPS = ("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D", "FusedDepthwiseConv2dNative")


def fuse_contractions(graph: Graph, weights: Mapping[str, np.ndarray]) -> tuple[Graph, dict[str, np.ndarray]]:
    """The fused graph and its weights (new arrays for folded weights and biases)."""
    consumers = graph.consumers()
    new_weights = dict(weights)
    nodes = dict(graph.nodes)
    for name in list(nodes):
        node = nodes.get(name)
        if node is not None and node.op in PADDED_OPS and len(node.inputs) >= 2:
            _fold_pad(node, nodes, consumers, new_weights)
    for name in list(nodes):
        node = nodes.get(name)
        if node is not None and node.op in FUSED_OF and len(node.inputs) == 2 and _channels_last(node):
            _fuse_chain(node, nodes, consumers, new_weights)
    return Graph(list(nodes.values()), graph.functions), new_weights


def _fold_pad(node: Node, nodes: dict, consumers: dict, weights: Mapping) -> None:
    """A zero Pad of the spatial dims feeding a VALID convolution becomes the convolution's EXPLICIT
    padding (Keras's ZeroPadding2D before strided convolutions): one op and one copy fewer."""
    pad = nodes.get(node.inputs[0][0])
    if pad is None or pad.op not in ("Pad", "PadV2") or len(pad.inputs) != (3 if pad.op == "PadV2" else 2) \
            or node.inputs[0][1] != 0 or node.attrs.get("padding") not in ("VALID", b"VALID") \
            or not _channels_last(node) or _sole_consumer(pad.name, nodes, consumers) is not node or pad.control_inputs:
        return
    paddings = _constant(nodes, weights, pad.inputs[1])
    kernel = _constant(nodes, weights, node.inputs[1])
    if kernel is None or kernel.ndim != 4 or not np.isfinite(kernel).all():  # padded taps are skipped, not x 0
        return
    if paddings is None or paddings.dtype.kind not in "iu" or paddings.shape != (4, 2) or paddings[0].any() \
            or paddings[3].any() or (paddings < 0).any():
        return
    if pad.op == "PadV2":
        value = _constant(nodes, weights, pad.inputs[2])
        if value is None or value.size != 1 or value.reshape(()) != 0:
            return
    source = pad.inputs[0]
    attrs = dict(node.attrs, padding="EXPLICIT", explicit_paddings=[int(v) for v in paddings.reshape(-1)])
    nodes[node.name] = Node(node.name, node.op, [source] + node.inputs[1:], list(node.control_inputs), attrs)
    del nodes[pad.name]
    consumers[source[0]] = [c for c in consumers.get(source[0], ()) if c != pad.name] + [node.name]


def _channels_last(node: Node) -> bool:
    if node.op == "MatMul":
        return not node.attrs.get("transpose_b", False)
    return str(node.attrs.get("data_format", "NHWC")).upper() in ("NHWC", "")


def _constant(nodes: dict, weights: Mapping, key: tuple[str, int]) -> np.ndarray | None:
    node = nodes.get(key[0])
    if node is None or node.op != "Const" or key[1] != 0:
        return None
    if node.name in weights:
        return np.asarray(weights[node.name])
    value = node.attrs.get("value")
    return value if isinstance(value, np.ndarray) else None


def _sole_consumer(name: str, nodes: dict, consumers: dict) -> Node | None:
    users = [nodes[c] for c in consumers.get(name, ()) if c in nodes]
    return users[0] if len(users) == 1 and not users[0].control_inputs else None


def _per_channel(value: np.ndarray | None, channels: int) -> np.ndarray | None:
    """A constant that broadcasts along the last axis only: a scalar, (C,) or (1, ..., 1, C)."""
    if value is None or value.dtype.kind != "f":
        return None
    if value.size == 1:
        return np.full(channels, value.reshape(()), np.float32)
    if value.shape[-1] == channels and value.size == channels:
        return value.reshape(channels).astype(np.float32)
    return None


def _fuse_chain(node: Node, nodes: dict, consumers: dict, weights: dict) -> None:
    kernel = _constant(nodes, weights, node.inputs[1])
    if kernel is None or kernel.dtype != np.float32 or kernel.ndim != (2 if node.op == "MatMul" else 4):
        return
    channels = kernel.shape[-1] if node.op != "DepthwiseConv2dNative" else kernel.shape[2] * kernel.shape[3]
    scale, bias, activation, chain = None, None, None, [node]
    current = _sole_consumer(node.name, nodes, consumers)
    if current is not None and current.op == "Mul":
        other = [k for k in current.inputs if k[0] != node.name]
        factor = _per_channel(_constant(nodes, weights, other[0]), channels) if len(other) == 1 else None
        if factor is not None:
            scale = factor
            chain.append(current)
            current = _sole_consumer(current.name, nodes, consumers)
    addend = None
    if current is not None and current.op == "AddN" and len(current.inputs) == 2 and node.op != "MatMul":
        others = [k for k in current.inputs if k[0] != chain[-1].name]
        if len(others) == 1:  # a residual: conv + x
            addend = others[0]
            chain.append(current)
            current = _sole_consumer(current.name, nodes, consumers)
    if current is not None and current.op in BIASES:
        offset = _bias_operand(current, chain[-1].name, nodes, weights, channels)
        if offset is not None:
            bias = offset
            chain.append(current)
            current = _sole_consumer(current.name, nodes, consumers)
    if current is not None and current.op in ACTIVATIONS and len(current.inputs) == 1:
        activation = current
        chain.append(current)
    if len(chain) > 1:
        _replace(chain, nodes, weights, kernel, scale, bias, addend, activation)


def _bias_operand(node: Node, source: str, nodes: dict, weights: Mapping, channels: int) -> np.ndarray | None:
    """The per-channel constant `node` adds to `source` (either operand of Add/AddV2, BiasAdd's second)."""
    if len(node.inputs) != 2:
        return None
    if node.op == "BiasAdd":
        if node.inputs[0][0] != source or not _channels_last(node):
            return None
        return _per_channel(_constant(nodes, weights, node.inputs[1]), channels)
    others = [k for k in node.inputs if k[0] != source]
    if len(others) != 1:
        return None
    return _per_channel(_constant(nodes, weights, others[0]), channels)


def _const_node(nodes: dict, weights: dict, name: str, value: np.ndarray) -> tuple[str, int]:
    weights[name] = value
    nodes[name] = Node(name, "Const", [], [], {"dtype": "float32"})
    return name, 0


def _replace(chain: list[Node], nodes: dict, weights: dict, kernel: np.ndarray, scale, bias, addend,
             activation) -> None:
    """The fused node takes the chain's last name, so its consumers need no rewiring."""
    node, last = chain[0], chain[-1]
    if scale is not None:
        kernel = (kernel * (scale.reshape(kernel.shape[2:]) if node.op == "DepthwiseConv2dNative" else scale))
    inputs = [node.inputs[0], _const_node(nodes, weights, f"{last.name}/fused_kernel", kernel.astype(np.float32))]
    attrs = {k: v for k, v in node.attrs.items() if k not in ("fused_ops", "num_args")}
    op = node.op
    if bias is not None or activation is not None or addend is not None:
        if bias is None and (node.op == "MatMul" or addend is not None):  # a bias must come first
            bias = np.zeros(kernel.shape[-1] if node.op != "DepthwiseConv2dNative" else
                            kernel.shape[2] * kernel.shape[3], np.float32)
        fused_ops = ["BiasAdd" if bias is not None else "NoOp"]
        if bias is not None:
            inputs.append(_const_node(nodes, weights, f"{last.name}/fused_bias", bias))
        if addend is not None:
            fused_ops.append("Add")
            inputs.append(addend)
        if activation is not None:
            fused_ops.append(activation.op)
            if activation.op == "LeakyRelu":
                attrs["leakyrelu_alpha"] = activation.attrs.get("alpha", 0.2)
        attrs.update(fused_ops=fused_ops, num_args=len(inputs) - 2)
        op = FUSED_OF[node.op]
    for fused in chain:
        del nodes[fused.name]
    nodes[last.name] = Node(last.name, op, inputs, list(node.control_inputs), attrs)
