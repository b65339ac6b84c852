"""convert(): one entry point for every supported (input_format, output_format) pair."""
from __future__ import annotations

import os
from collections.abc import Mapping

from tqdm.auto import tqdm

from engine.errors import ConversionError
from engine.io import DEFAULT_SHARD_BYTES

TF_SAVED_MODEL, KERAS, KERAS_KERAS, TF_HUB = "tf_saved_model", "keras", "keras_keras", "tf_hub"
TF_FROZEN_MODEL, TFJS_GRAPH_MODEL = "tf_frozen_model", "tfjs_graph_model"
KERAS_SAVED_MODEL, TFJS_LAYERS_MODEL = "keras_saved_model", "tfjs_layers_model"

# (input_format, output_format) pairs this version converts.
FORMAT_PAIRS = {
    (TF_SAVED_MODEL, TFJS_GRAPH_MODEL),
    (KERAS, TFJS_GRAPH_MODEL),
    (KERAS_KERAS, TFJS_GRAPH_MODEL),
    (TF_HUB, TFJS_GRAPH_MODEL),
    (TF_FROZEN_MODEL, TFJS_GRAPH_MODEL),
    (KERAS, TFJS_LAYERS_MODEL),
    (KERAS_KERAS, TFJS_LAYERS_MODEL),
    (KERAS_SAVED_MODEL, TFJS_LAYERS_MODEL),
    (TFJS_LAYERS_MODEL, KERAS),
    (TFJS_LAYERS_MODEL, KERAS_KERAS),
    (TFJS_LAYERS_MODEL, KERAS_SAVED_MODEL),
    (TFJS_LAYERS_MODEL, TFJS_LAYERS_MODEL),
    (TFJS_LAYERS_MODEL, TFJS_GRAPH_MODEL),
    # beyond the official converter: back to TensorFlow
    (TFJS_GRAPH_MODEL, TF_SAVED_MODEL),
    (TFJS_GRAPH_MODEL, TF_FROZEN_MODEL),
}


def default_output_format(input_format: str) -> str:
    """As the official converter: layers models from Keras inputs, Keras .h5 from layers models,
    graph models from TensorFlow inputs."""
    if input_format in (KERAS, KERAS_KERAS, KERAS_SAVED_MODEL):
        return TFJS_LAYERS_MODEL
    if input_format == TFJS_GRAPH_MODEL:
        return TF_SAVED_MODEL
    return KERAS if input_format == TFJS_LAYERS_MODEL else TFJS_GRAPH_MODEL


class _Progress:
    """Names each conversion step on one progress bar (stderr)."""

    def __init__(self, total: int, enabled: bool):
        self.bar = tqdm(total=total, desc="converting", unit="step", disable=not enabled, leave=False, delay=1.0)

    def __call__(self, name: str) -> None:
        self.bar.set_postfix_str(name)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def convert(input_path: str, output_path: str, input_format: str = TF_SAVED_MODEL,
            output_format: str | None = None, *, signature_name: str | None = None,
            saved_model_tags: str | None = "serve", quantize: Mapping[str, object] | None = None,
            weight_shard_size_bytes: int = DEFAULT_SHARD_BYTES, skip_op_check: bool = False,
            strip_debug_ops: bool = False, control_flow_v2: bool = False,
            use_structured_outputs_names: bool = False, output_node_names: str | None = None,
            split_weights_by_layer: bool = False, metadata: dict | None = None, overwrite: bool = False,
            progress: bool = False) -> None:
    """Converts `input_path` to `output_path`. Writes into a temporary folder (or file) first: on
    failure nothing is left behind, and an existing non-empty output is only replaced with `overwrite`.
    `split_weights_by_layer` (one weight group per layer) applies to tfjs_layers_model outputs."""
    output_format = output_format or default_output_format(input_format)
    if (input_format, output_format) not in FORMAT_PAIRS:
        raise ConversionError(f"converting {input_format} to {output_format} is not supported; supported pairs: "
                              + ", ".join(f"{i}->{o}" for i, o in sorted(FORMAT_PAIRS)))
    if not os.path.exists(input_path):
        raise ConversionError(f"input {input_path} does not exist")
    if output_format == TFJS_LAYERS_MODEL:
        _to_layers_model(input_path, output_path, input_format, quantize, weight_shard_size_bytes,
                         split_weights_by_layer, metadata, overwrite, progress)
    elif output_format in (KERAS, KERAS_KERAS, KERAS_SAVED_MODEL):
        _to_keras(input_path, output_path, output_format, overwrite, progress)
    elif input_format == TFJS_GRAPH_MODEL:
        _to_tensorflow(input_path, output_path, output_format, overwrite)
    else:
        _to_graph_model(input_path, output_path, input_format, signature_name, saved_model_tags, quantize,
                        weight_shard_size_bytes, skip_op_check, strip_debug_ops, control_flow_v2,
                        use_structured_outputs_names, output_node_names, metadata, overwrite, progress)


def _to_graph_model(input_path, output_path, input_format, signature_name, saved_model_tags, quantize,
                    weight_shard_size_bytes, skip_op_check, strip_debug_ops, control_flow_v2,
                    use_structured_outputs_names, output_node_names, metadata, overwrite, progress) -> None:
    # Each format's TensorFlow side loads only when that conversion runs: TensorFlow takes seconds to import.
    from converter import graph_model, output
    from converter.optimize import optimize

    steps = _Progress(6, progress)
    try:
        with output.staged_folder(output_path, overwrite) as folder:
            steps("load and freeze")
            frozen = _freeze(input_path, input_format, signature_name, saved_model_tags, control_flow_v2,
                             use_structured_outputs_names, output_node_names)
            if frozen.structured_output_keys is not None:
                metadata = {**(metadata or {}), "structuredOutputKeys": frozen.structured_output_keys}
            graph_def = optimize(frozen.graph, frozen.signature, skip_op_check, strip_debug_ops, steps)
            steps("write weights and model.json")
            graph_model.write_graph_model(graph_def, frozen.signature, folder, frozen.tf_version, quantize,
                                          weight_shard_size_bytes, metadata)
    finally:
        steps.close()


def _to_layers_model(input_path, output_path, input_format, quantize, weight_shard_size_bytes,
                     split_weights_by_layer, metadata, overwrite, progress) -> None:
    """Keras inputs are read as the official converter reads them; a layers-model input is resharded
    and requantized by engine.io alone (no TensorFlow import)."""
    from converter import layers_model, output

    steps = _Progress(2, progress)
    try:
        with output.staged_folder(output_path, overwrite) as folder:
            steps("read the model")
            if input_format == TFJS_LAYERS_MODEL:
                steps("write weights and model.json")
                layers_model.reshard(input_path, folder, quantize, weight_shard_size_bytes, split_weights_by_layer,
                                     metadata)
                return
            if input_format == KERAS_SAVED_MODEL:
                topology, groups = layers_model.read_keras_saved_model(input_path, split_weights_by_layer)
            else:
                topology, groups = layers_model.read_keras_file(input_path, split_weights_by_layer)
            steps("write weights and model.json")
            layers_model.write_layers_model(topology, groups, folder, quantize, weight_shard_size_bytes, metadata)
    finally:
        steps.close()


def _to_keras(input_path, output_path, output_format, overwrite, progress) -> None:
    """tfjs_layers_model -> Keras .h5 / .keras (one file) or a SavedModel folder."""
    from converter import layers_model, output

    steps = _Progress(2, progress)
    try:
        if output_format == KERAS_SAVED_MODEL:
            staged, save = output.staged_folder, layers_model.save_saved_model
        else:
            staged = output.staged_file
            save = layers_model.save_h5 if output_format == KERAS else layers_model.save_keras_v3
        with staged(output_path, overwrite) as target:
            steps("rebuild the Keras model")
            model = layers_model.load_keras_model(input_path)
            steps("save")
            save(model, target)
    finally:
        steps.close()


def _to_tensorflow(input_path: str, output_path: str, output_format: str, overwrite: bool) -> None:
    """tfjs_graph_model -> SavedModel folder or frozen .pb, the TF.js-only fused ops expanded."""
    from converter import output, reverse

    if output_format == TF_SAVED_MODEL:
        with output.staged_folder(output_path, overwrite) as folder:
            reverse.to_saved_model(input_path, folder)
    else:
        with output.staged_file(output_path, overwrite) as path:
            reverse.to_frozen_graph(input_path, path)


def _freeze(input_path: str, input_format: str, signature_name: str | None, tags: str | None,
            control_flow_v2: bool, structured: bool, output_node_names: str | None):
    from converter import sources
    if input_format == TF_FROZEN_MODEL:
        return sources.from_frozen_pb(input_path, output_node_names or "")
    if input_format in (KERAS, KERAS_KERAS):
        with sources.keras_as_saved_model(input_path) as exported:
            return sources.from_saved_model(exported, "serving_default", "serve", control_flow_v2, structured)
    if input_format == TFJS_LAYERS_MODEL:
        from converter import layers_model
        with layers_model.as_saved_model(input_path) as exported:
            return sources.from_saved_model(exported, "serving_default", "serve", control_flow_v2, structured)
    default_signature = "default" if input_format == TF_HUB else "serving_default"
    return sources.from_saved_model(input_path, signature_name or default_signature, tags, control_flow_v2,
                                    structured)
