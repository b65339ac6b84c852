"""Load-time fusion of a depthwise convolution into the 1x1 convolution that alone reads it, for the
CPU backend only: MobileNets' separable convolutions (depthwise, then 1x1) and the depthwise half of
their inverted residual blocks (depthwise, then the 1x1 projection).

The pair becomes one _FusedSeparableConv2D node named as the 1x1 convolution
(engine/kernels/cpu/separable.py), which keeps each chunk of depthwise rows in cache for its product
and saves the executor a step. The WebGL backend does not get it (`Backend.fuses_separable`). The
depthwise node's name survives in the original graph, which GraphModel runs for fetches of it.

What is checked here is what a node's attrs say; the filters' shapes are known only when the node
runs, and the kernel runs the two convolutions unfused where they do not fit (a convolution that
turns out not to be 1x1 keeps its own padding and dilations).
"""
from __future__ import annotations

from collections.abc import Iterable

from engine.graph.graph import Graph, Node
from engine.kernels.cpu.separable import OP

DEPTHWISE_OPS = ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative")
POINTWISE_OPS = ("Conv2D", "_FusedConv2D")
DEPTHWISE_ATTRS = ("strides", "padding", "dilations", "explicit_paddings", "fused_ops", "epsilon", "leakyrelu_alpha")
POINTWISE_ATTRS = ("padding", "dilations", "fused_ops", "epsilon", "leakyrelu_alpha")


def fuse_separable_convolutions(graph: Graph, protected: Iterable[str] = ()) -> Graph:
    """The graph with each depthwise convolution whose only reader is a 1x1-able convolution fused
    into it. `protected`: nodes whose outputs must stay (the model's outputs)."""
    protected = set(protected)
    consumers = graph.consumers()
    nodes = dict(graph.nodes)
    for node in graph.nodes.values():
        if not node.inputs or not _plain(node, POINTWISE_OPS) or not _unit_steps(node):
            continue
        source, index = node.inputs[0]
        depthwise = nodes.get(source)
        if depthwise is None or index != 0 or source in protected or consumers.get(source) != [node.name] \
                or any(name == source for name, _ in node.inputs[1:]) or not _plain(depthwise, DEPTHWISE_OPS) \
                or depthwise.attrs.get("padding") not in ("SAME", "VALID"):
            continue
        nodes[node.name] = _fused(depthwise, node)
        del nodes[source]
    return Graph(list(nodes.values()), graph.functions) if len(nodes) < len(graph.nodes) else graph


def _plain(node: Node, ops: tuple[str, ...]) -> bool:
    """One of `ops` on float32 NHWC values, with no control edges and only its first output read."""
    return node.op in ops and not node.control_inputs and node.attrs.get("T", "float32") == "float32" \
        and node.attrs.get("data_format", "NHWC") == "NHWC" and all(index == 0 for _, index in node.inputs[1:])


def _unit_steps(node: Node) -> bool:
    """Stride 1 and no padding for a 1x1 filter (EXPLICIT padding could pad it)."""
    return list(node.attrs.get("strides", [1, 1, 1, 1])) == [1, 1, 1, 1] \
        and node.attrs.get("padding") in ("SAME", "VALID")


def _fused(depthwise: Node, pointwise: Node) -> Node:
    attrs = {f"depthwise_{name}": depthwise.attrs[name] for name in DEPTHWISE_ATTRS if name in depthwise.attrs}
    attrs.update({name: pointwise.attrs[name] for name in POINTWISE_ATTRS if name in pointwise.attrs})
    attrs.update(num_depthwise_inputs=len(depthwise.inputs), T="float32")
    return Node(pointwise.name, OP, [*depthwise.inputs, *pointwise.inputs[1:]], [], attrs)
