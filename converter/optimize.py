"""Graph optimization for TF.js: grappler passes around tfgl's own rewrites, as the official converter."""
from __future__ import annotations

import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import config_pb2, device_properties_pb2, meta_graph_pb2
from tensorflow.python.grappler import cluster as gcluster
from tensorflow.python.grappler import tf_optimizer
from tensorflow.python.training.saver import export_meta_graph

from converter import rewrites
from converter.op_check import check_ops

FIRST_PASS = ["pruning", "constfold", "arithmetic", "dependency", "pruning", "constfold", "arithmetic", "dependency"]
SECOND_PASS = ["remap", "constfold", "arithmetic", "dependency"]


def _cluster() -> gcluster.Cluster:
    """A GPU-shaped virtual device: grappler then keeps layouts TF.js can run (NHWC)."""
    device = device_properties_pb2.NamedDevice()
    device.name = "/GPU:0"
    device.properties.type = "GPU"
    device.properties.environment["architecture"] = "4"
    return gcluster.Cluster(devices=[device])


def _grappler(graph_def: graph_pb2.GraphDef, graph: tf.Graph, signature: meta_graph_pb2.SignatureDef,
              optimizers: list[str]) -> graph_pb2.GraphDef:
    config = config_pb2.ConfigProto()
    config.graph_options.rewrite_options.optimizers[:] = optimizers
    meta_graph = export_meta_graph(graph_def=graph_def, graph=graph)
    meta_graph.signature_def["not_used_key"].CopyFrom(signature)
    return tf_optimizer.OptimizeGraph(config, meta_graph, cluster=_cluster())


def optimize(graph: tf.Graph, signature: meta_graph_pb2.SignatureDef, skip_op_check: bool = False,
             strip_debug_ops: bool = False, step=lambda name: None) -> graph_pb2.GraphDef:
    """Prunes to the signature, folds constants and batch norms, and fuses contractions with
    their bias and activation into _FusedConv2D / _FusedMatMul / FusedDepthwiseConv2dNative."""
    for output in signature.outputs.values():
        graph.add_to_collection("train_op", graph.get_operation_by_name(output.name.split(":")[0]))
    graph_def = graph.as_graph_def()
    check_ops(graph_def, skip_op_check, strip_debug_ops, when="before optimization")

    step("grappler: prune, fold constants, simplify")
    first = (["debug_stripper"] if strip_debug_ops else []) + FIRST_PASS
    graph_def = _grappler(graph_def, graph, signature, first)

    step("fold batch norms")
    graph_def = rewrites.fold_batch_norms(graph_def)
    graph_def = rewrites.normalize_bias_add(graph_def)
    for node in graph_def.node:
        if node.op in ("Conv2D", "MatMul"):
            node.device = "/device:CPU:0"   # grappler's remapper fuses these only on CPU

    step("grappler: fuse contractions")
    graph_def = _grappler(graph_def, graph, signature, SECOND_PASS)

    step("fuse PReLU and depthwise convolutions")
    graph_def = rewrites.remove_unused_control_flow_inputs(graph_def)
    graph_def = rewrites.fuse_prelu(graph_def)
    graph_def = rewrites.fuse_depthwise(graph_def)
    graph_def = rewrites.fuse_prelu_into_contraction(graph_def)
    check_ops(graph_def, skip_op_check, strip_debug_ops, when="after optimization")
    return graph_def
