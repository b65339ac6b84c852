"""`tfgl convert`: the command line of tensorflowjs_converter (same flags, positionals and defaults).

This module imports no TensorFlow itself, so `tfgl --help` stays fast.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading

from engine import __version__
from engine.errors import ConversionError
from engine.io import DEFAULT_SHARD_BYTES

INPUT_FORMATS = ["tf_saved_model", "keras", "keras_keras", "keras_saved_model", "tf_hub", "tf_frozen_model",
                 "tfjs_layers_model", "tfjs_graph_model"]
OUTPUT_FORMATS = ["tfjs_graph_model", "tfjs_layers_model", "keras", "keras_keras", "keras_saved_model",
                  "tf_saved_model", "tf_frozen_model"]


def _bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input_path", nargs="?", help="SavedModel folder, Keras .h5/.keras file, frozen .pb, "
                                                      "TF Hub module or TF.js model.json")
    parser.add_argument("output_path", nargs="?", help="folder (or file) for the converted model")
    parser.add_argument("--input_format", default="tf_saved_model", choices=INPUT_FORMATS)
    parser.add_argument("--output_format", choices=OUTPUT_FORMATS,
                        help="default: tfjs_graph_model for TensorFlow inputs, tfjs_layers_model for Keras "
                             "inputs, keras (.h5) for tfjs_layers_model")
    parser.add_argument("--signature_name", help="SavedModel signature (tf_hub: 'default')")
    parser.add_argument("--saved_model_tags", default="serve", help="comma separated MetaGraph tags")
    for dtype, what in (("float16", "float16"), ("uint8", "1-byte affine"), ("uint16", "2-byte affine")):
        parser.add_argument(f"--quantize_{dtype}", nargs="?", const=True, default=None, metavar="PATTERNS",
                            help=f"{what} quantization of the weights matching these comma separated "
                                 f"fnmatch patterns (all weights when given without a value)")
    parser.add_argument("--quantization_bytes", type=int, choices=[1, 2], help="(deprecated) 1: uint8, 2: uint16")
    parser.add_argument("--split_weights_by_layer", action="store_true",
                        help="one weight group per layer (tfjs_layers_model output)")
    parser.add_argument("--version", "-v", dest="show_version", action="store_true")
    parser.add_argument("--skip_op_check", action="store_true", help="convert even ops tfgl cannot run")
    for flag, default, text in (("strip_debug_ops", False, "remove Print, Assert and CheckNumerics"),
                                ("use_structured_outputs_names", False, "outputs keyed like the model's dict outputs"),
                                ("control_flow_v2", False, "keep While/If ops instead of lowering them"),
                                ("experiments", False, "accepted for compatibility; no effect")):
        parser.add_argument(f"--{flag}", type=_bool, nargs="?", const=True, default=default, metavar="BOOL",
                            help=text)
    parser.add_argument("--weight_shard_size_bytes", type=int, default=None, help="default 4194304")
    parser.add_argument("--output_node_names", help="comma separated outputs (tf_frozen_model)")
    parser.add_argument("--metadata", help="key:path/metadata.json[,key2:path2]")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output")


def quantization_map(args: argparse.Namespace) -> dict[str, object]:
    chosen: dict[str, object] = {}
    if args.quantization_bytes:
        if any(getattr(args, f"quantize_{d}") is not None for d in ("float16", "uint8", "uint16")):
            raise ConversionError("--quantization_bytes cannot be combined with --quantize_* flags")
        chosen["uint8" if args.quantization_bytes == 1 else "uint16"] = True
    for dtype in ("float16", "uint8", "uint16"):
        value = getattr(args, f"quantize_{dtype}")
        if value is not None:
            chosen[dtype] = value.split(",") if isinstance(value, str) else value
    return chosen


def metadata_map(text: str | None) -> dict | None:
    if not text:
        return None
    out = {}
    for item in text.split(","):
        key, sep, path = item.partition(":")
        if not sep or not key or not path:
            raise ConversionError(f"--metadata entries are key:path, got {item!r}")
        try:
            with open(path) as file:
                out[key] = json.load(file)
        except (OSError, ValueError) as error:
            raise ConversionError(f"cannot read metadata JSON from {path}: {error}") from None
    return out


class Terminated(KeyboardInterrupt):
    """SIGTERM during a conversion: raised like Ctrl-C's KeyboardInterrupt, so the staging folder is
    removed on the way out and `tfgl` reports the interruption in one line."""


def _raise_terminated(signum: int, _frame) -> None:
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def sigterm_raises():
    """While converting, SIGTERM raises Terminated instead of killing the process outright (which
    would leave the staging folder behind)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    with sigterm_raises():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.show_version:
        print(f"tfgl {__version__}")
        return 0
    if not args.input_path or not args.output_path:
        raise ConversionError("convert needs input_path and output_path (see tfgl convert --help)")
    from converter.api import convert, default_output_format
    output_format = args.output_format or default_output_format(args.input_format)
    if args.weight_shard_size_bytes is not None:
        if output_format not in ("tfjs_layers_model", "tfjs_graph_model"):
            raise ConversionError("--weight_shard_size_bytes applies to tfjs_layers_model and tfjs_graph_model "
                                  "outputs only")
        if args.weight_shard_size_bytes <= 0:
            raise ConversionError(f"--weight_shard_size_bytes must be a positive integer, got "
                                  f"{args.weight_shard_size_bytes}")
    if args.input_format == "tf_frozen_model" and not args.output_node_names:
        raise ConversionError("--output_node_names is required for tf_frozen_model")
    if args.signature_name and args.input_format not in ("tf_saved_model", "tf_hub"):
        raise ConversionError("--signature_name applies to tf_saved_model and tf_hub inputs only")
    if args.control_flow_v2 and output_format != "tfjs_graph_model":
        raise ConversionError("--control_flow_v2 applies to tfjs_graph_model output only")
    convert(args.input_path, args.output_path, args.input_format, output_format,
            signature_name=args.signature_name, saved_model_tags=args.saved_model_tags,
            quantize=quantization_map(args),
            weight_shard_size_bytes=args.weight_shard_size_bytes or DEFAULT_SHARD_BYTES,
            skip_op_check=args.skip_op_check, strip_debug_ops=args.strip_debug_ops,
            control_flow_v2=args.control_flow_v2, use_structured_outputs_names=args.use_structured_outputs_names,
            output_node_names=args.output_node_names, split_weights_by_layer=args.split_weights_by_layer,
            metadata=metadata_map(args.metadata),
            overwrite=args.overwrite, progress=True)
    print(f"wrote {args.output_path}")
    return 0
