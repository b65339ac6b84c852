"""Turning a converter input (SavedModel, Keras HDF5 / .keras, TF Hub module, frozen .pb) into a
frozen tf.Graph plus the SignatureDef that names its inputs and outputs."""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow.python.framework import convert_to_constants
from tensorflow.python.tools import saved_model_utils

from engine.errors import ConversionError


@dataclass
class FrozenModel:
    graph: tf.Graph
    signature: meta_graph_pb2.SignatureDef
    tf_version: str
    structured_output_keys: list[str] | None = None


def _signature_key(tensor, entries) -> str:
    """The SignatureDef key of a tensor, matched by dtype and shape as the official converter does
    (the frozen graph renames tensors); its tensor name when no single key matches."""
    if not entries:
        return tensor.name
    shape = tensor.shape.as_proto().SerializeToString()
    keys = [key for key, info in entries.items()
            if info.dtype == tensor.dtype and info.tensor_shape.SerializeToString() == shape]
    return keys[0] if len(keys) == 1 else tensor.name


def build_signature(graph: tf.Graph, inputs, outputs, original: meta_graph_pb2.SignatureDef | None = None
                    ) -> meta_graph_pb2.SignatureDef:
    signature = meta_graph_pb2.SignatureDef()
    for tensor in inputs:
        try:
            op = graph.get_operation_by_name(tensor.name.split(":")[0])
        except KeyError:
            continue
        if op.type == "Const":   # a captured variable, frozen into a constant
            continue
        key = _signature_key(tensor, original.inputs if original is not None else None)
        signature.inputs[key].name = tensor.name
        signature.inputs[key].dtype = tensor.dtype.as_datatype_enum
        signature.inputs[key].tensor_shape.CopyFrom(tensor.shape.as_proto())
    for tensor in outputs:
        if isinstance(tensor, str):
            signature.outputs[tensor].name = tensor
            continue
        key = _signature_key(tensor, original.outputs if original is not None else None)
        signature.outputs[key].name = tensor.name
        signature.outputs[key].dtype = tensor.dtype.as_datatype_enum
        signature.outputs[key].tensor_shape.CopyFrom(tensor.shape.as_proto())
    return signature


def freeze_concrete_function(function, control_flow_v2: bool) -> tf.Graph:
    """Variables -> constants, function calls inlined; v2 control flow lowered to v1 unless asked to keep it."""
    return convert_to_constants.convert_variables_to_constants_v2(
        function, lower_control_flow=not control_flow_v2, aggressive_inlining=True).graph


def _structured_keys(function, use_structured_outputs_names: bool) -> list[str] | None:
    structured = function.structured_outputs
    if not use_structured_outputs_names or structured is None:
        return None
    if not isinstance(structured, dict):
        raise ConversionError("--use_structured_outputs_names needs a model whose outputs are a dict")
    keys = sorted(structured)
    packed = tf.nest.pack_sequence_as(structured, list(range(len(function.outputs))), True)
    if packed != dict(zip(keys, range(len(keys)))):
        raise ConversionError("--use_structured_outputs_names needs outputs of the form {key: tensor, ...}")
    return keys


def from_saved_model(path: str, signature_name: str | None = "serving_default", tags: str | None = "serve",
                     control_flow_v2: bool = False, use_structured_outputs_names: bool = False) -> FrozenModel:
    if not os.path.isdir(path):
        raise ConversionError(f"no SavedModel folder at {path}")
    signature_name = signature_name or "serving_default"
    tag_list = tags.split(",") if tags else None
    try:
        meta_graph = saved_model_utils.get_meta_graph_def(path, tags or "")
    except (RuntimeError, OSError, ValueError) as error:
        raise ConversionError(f"cannot read the SavedModel at {path} with tags {tags!r}: {error}") from None
    if signature_name not in meta_graph.signature_def:
        raise ConversionError(f"signature {signature_name!r} is not in the SavedModel; it has: "
                              f"{', '.join(meta_graph.signature_def) or 'none'}")
    model = tf.saved_model.load(path, tag_list)
    function = model.signatures[signature_name]
    keys = _structured_keys(function, use_structured_outputs_names)
    frozen = freeze_concrete_function(function, control_flow_v2)
    _refuse_captured_resources(frozen)
    signature = build_signature(frozen, function.inputs, function.outputs, meta_graph.signature_def[signature_name])
    version = getattr(model, "tensorflow_version", None) or tf.__version__
    return FrozenModel(frozen, signature, version, keys)


def _refuse_captured_resources(graph: tf.Graph) -> None:
    """Resources a model captures (hash tables) need an initializer graph, which this converter does not
    write yet: say so rather than write a model that cannot load."""
    captured = [op.name for op in graph.get_operations()
                if op.type == "Placeholder" and op.get_attr("dtype") == tf.resource]
    if captured:
        raise ConversionError(f"the model captures resources (hash tables: {', '.join(captured[:3])}), whose "
                              "initializer graph tfgl's converter does not write; the official tensorflowjs_converter "
                              "writes it (modelInitializer), and tfgl runs its output")


def from_frozen_pb(path: str, output_node_names: str) -> FrozenModel:
    if not output_node_names:
        raise ConversionError("--output_node_names is required for tf_frozen_model")
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as file:
            graph_def.ParseFromString(file.read())
    except (OSError, Exception) as error:  # protobuf raises DecodeError, a plain Exception subclass
        raise ConversionError(f"cannot read a frozen GraphDef from {path}: {error}") from None
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    outputs = [name.strip() for name in output_node_names.split(",")]
    missing = [name for name in outputs if name not in {op.name for op in graph.get_operations()}]
    if missing:
        raise ConversionError(f"output node(s) {', '.join(missing)} are not in {path}")
    return FrozenModel(graph, build_signature(graph, [], outputs), tf.__version__)


@contextlib.contextmanager
def keras_as_saved_model(path: str):
    """Yields a SavedModel folder exported from a Keras .h5 or .keras file (removed afterwards)."""
    if not os.path.isfile(path):
        raise ConversionError(f"no Keras model file at {path}")
    with tempfile.TemporaryDirectory(prefix="tfgl-keras-") as folder:
        exported = os.path.join(folder, "saved_model")
        if _is_keras_v3_file(path):
            import keras
            model = keras.models.load_model(path, compile=False)
            model.export(exported, verbose=False)
        else:
            try:
                import tf_keras
                model = tf_keras.models.load_model(path, compile=False)
                model.save(exported, include_optimizer=False, save_format="tf")
            except (ImportError, ValueError, TypeError):
                import keras
                model = keras.models.load_model(path, compile=False)
                model.export(exported, verbose=False)
        yield exported


def _is_keras_v3_file(path: str) -> bool:
    """Keras 3 .keras files are zip archives; HDF5 files start with the HDF5 signature."""
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"
