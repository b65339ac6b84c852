"""TF.js layers models (Keras topology + weights by name) from and to Keras.

In: Keras HDF5 files (tf_keras or Keras 3, read with h5py alone, as the official converter does:
topology from the file's attributes, weights named `layer/.../kernel` in the file's group order),
Keras 3 `.keras` archives and tf_keras SavedModels (both through an HDF5 file Keras writes).
Out: Keras rebuilt from the topology with the Keras that wrote it (Keras 2 configs with tf_keras,
Keras 3 configs with keras) and its weights set by name, saved as .h5, .keras or a SavedModel.
Resharding and requantizing a layers model (`reshard`) needs no TensorFlow at all: keep this
module's top level free of TensorFlow and Keras imports.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Mapping, Sequence

import numpy as np

from engine import __version__
from engine.errors import ConversionError, TfglError
from engine.io import DEFAULT_SHARD_BYTES, LAYERS_MODEL, load_model_json, parse_manifest, read_weight_arrays
from engine.io import saving
from engine.io.keras_store import has_store_keys, rename_store_keys

CONVERTED_BY = f"tfgl converter v{__version__}"
Groups = list[list[tuple[str, np.ndarray]]]

# Class names some TensorFlow versions wrote (tfjs issue 1255), translated as the official converter does.
CLASS_NAME_MAP = {"BatchNormalizationV1": "BatchNormalization", "UnifiedGRU": "GRU", "UnifiedLSTM": "LSTM"}
# Keys of a .keras config.json that the official converter drops from the topology.
KERAS3_DROPPED_KEYS = ("module", "registered_name", "date_saved")


# -- Keras files -> (topology, weight groups) -----------------------------------------------------------

def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise ConversionError(f"expected text in the HDF5 attributes, got {type(value).__name__}")


def _json_attr(value) -> dict:
    return value if isinstance(value, dict) else json.loads(_text(value))


def translate_class_names(value) -> None:
    """Renames legacy class names (BatchNormalizationV1, UnifiedLSTM, ...) in place."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "class_name" and item in CLASS_NAME_MAP:
                value[key] = CLASS_NAME_MAP[item]
            else:
                translate_class_names(item)
    elif isinstance(value, list):
        for item in value:
            translate_class_names(item)


def _drop_keys(value, keys: Sequence[str]) -> None:
    if isinstance(value, dict):
        for key in [k for k in value if k in keys]:
            del value[key]
        for item in value.values():
            _drop_keys(item, keys)
    elif isinstance(value, list):
        for item in value:
            _drop_keys(item, keys)


def _weight_name(name: str) -> str:
    """TensorFlow's ':0' output suffix means nothing to TF.js."""
    return name[:-2] if name.endswith(":0") else name


def _h5_layer_weights(group) -> list[tuple[str, np.ndarray]]:
    """A layer's weights: the names in its `weight_names` attribute (the leaf level), in that order."""
    if "weight_names" in group.attrs:
        names = [_text(n) for n in group.attrs["weight_names"].tolist()]
        return [(_weight_name(name), np.array(group[name])) for name in names]
    out = []
    for key in group:
        out += _h5_layer_weights(group[key])
    return out


def _is_zip(path: str) -> bool:
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def read_keras_h5(path: str, split_by_layer: bool = False) -> tuple[dict | None, Groups]:
    """Topology and weight groups of a Keras HDF5 file (model.save or a tf_keras save_weights file,
    which has no topology). One group per layer with `split_by_layer`, else one group."""
    import h5py
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise ConversionError(f"cannot read {path} as a Keras HDF5 file: {error}") from None
    with file:
        if "layer_names" in file.attrs:  # weights only (tf_keras save_weights)
            topology, root = None, file
            layer_names = [_text(n) for n in file.attrs["layer_names"]]
        else:
            if "model_config" not in file.attrs or "model_weights" not in file:
                raise ConversionError(f"{path} holds no Keras model (no model_config / model_weights)")
            topology = {"keras_version": _text(file.attrs.get("keras_version", b"")),
                        "backend": _text(file.attrs.get("backend", b"tensorflow")),
                        "model_config": _json_attr(file.attrs["model_config"])}
            translate_class_names(topology["model_config"])
            if "training_config" in file.attrs:
                topology["training_config"] = _json_attr(file.attrs["training_config"])
            root = file["model_weights"]
            layer_names = list(root)
        per_layer = [g for g in (_h5_layer_weights(root[name]) for name in layer_names) if g]
    return topology, per_layer if split_by_layer else [[w for g in per_layer for w in g]]


def _keras3_h5_weights(model, split_by_layer: bool) -> Groups:
    """The weight groups Keras 3's HDF5 writer gives `model` (names `layer/.../weight`)."""
    with tempfile.TemporaryDirectory(prefix="tfgl-keras-") as folder:
        h5_path = os.path.join(folder, "model.h5")
        with _quiet_keras():
            model.save(h5_path)
        return read_keras_h5(h5_path, split_by_layer)[1]


def read_keras_v3(path: str, split_by_layer: bool = False) -> tuple[dict, Groups]:
    """A Keras 3 `.keras` archive. The topology is its config.json as the official converter
    writes it (module/registered_name/date_saved dropped, keras_version from metadata.json). The
    weights are named as Keras 3's own HDF5 writer names them (`dense/kernel`), which the layers
    loaders find; the archive's `layers/<attribute>/vars/<index>` keys (which the official
    converter copies verbatim) do not name the layers (engine/io/keras_store.py renames them)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            metadata = json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ConversionError(f"{path} is not a Keras .keras archive: {error}") from None
    _drop_keys(config, KERAS3_DROPPED_KEYS)
    translate_class_names(config)
    topology = {"keras_version": metadata.get("keras_version", "3"), "model_config": config}
    import keras
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds; name the file and the cause
        raise ConversionError(f"Keras cannot load {path}: {error}") from None
    return topology, _keras3_h5_weights(model, split_by_layer)


def read_keras_file(path: str, split_by_layer: bool = False) -> tuple[dict | None, Groups]:
    """An .h5 file or a .keras archive, told apart by content."""
    if not os.path.isfile(path):
        raise ConversionError(f"no Keras model file at {path}")
    return read_keras_v3(path, split_by_layer) if _is_zip(path) else read_keras_h5(path, split_by_layer)


def read_keras_saved_model(path: str, split_by_layer: bool = False) -> tuple[dict, Groups]:
    """A tf_keras SavedModel folder, through the HDF5 file tf_keras writes for it (as official)."""
    if not os.path.isdir(path):
        raise ConversionError(f"no SavedModel folder at {path}")
    import tf_keras
    try:
        try:
            model = tf_keras.models.load_model(path)
        except Exception:  # e.g. a custom loss it cannot compile: the topology does not need it
            model = tf_keras.models.load_model(path, compile=False)
    except Exception as error:
        raise ConversionError(f"tf_keras cannot load a Keras model from {path}: {error}") from None
    if not isinstance(model, tf_keras.Model):
        raise ConversionError(f"{path} is a SavedModel but not a tf_keras one; use --input_format=tf_saved_model")
    with tempfile.TemporaryDirectory(prefix="tfgl-keras-") as folder, _quiet_keras():
        h5_path = os.path.join(folder, "model.h5")
        model.save(h5_path, save_format="h5")
        return read_keras_h5(h5_path, split_by_layer)


# -- writing a layers model ---------------------------------------------------------------------------

def write_layers_model(topology: dict | None, groups: Groups, folder: str, quantize: Mapping[str, object] | None = None,
                       shard_size_bytes: int = DEFAULT_SHARD_BYTES, metadata: dict | None = None,
                       generator: str | None = None) -> dict:
    """Writes model.json (the official converter's keys and order) and its shards into `folder`."""
    try:
        return saving.write_layers_model(topology, groups, folder, CONVERTED_BY, quantize, shard_size_bytes,
                                         metadata, generator)
    except ValueError as error:
        raise ConversionError(str(error)) from None


def _model_json_path(path: str) -> str:
    return os.path.join(path, "model.json") if os.path.isdir(path) else path


def _read_layers_model(path: str):
    path = _model_json_path(path)
    if not os.path.isfile(path):
        raise ConversionError(f"no model.json at {path}")
    try:
        artifacts = load_model_json(path)
    except TfglError as error:
        raise ConversionError(f"cannot read {path}: {error}") from None
    if artifacts.format != LAYERS_MODEL:
        raise ConversionError(f"{path} is a {artifacts.format}, not a layers-model; use --input_format="
                              f"tfjs_graph_model inputs with tools for graph models")
    return artifacts, read_weight_arrays(artifacts.weights_manifest, artifacts.base)


def _named_weights(topology: dict, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`arrays` with Keras 3 store keys (`layers/dense/vars/0`) renamed to layer/weight names."""
    try:
        return rename_store_keys(topology.get("model_config", topology), arrays)
    except TfglError as error:
        raise ConversionError(str(error)) from None


def _layer_names(topology: dict | None) -> set[str]:
    config = (topology or {}).get("model_config", topology or {})
    body = config.get("config", {}) if isinstance(config, dict) else {}
    layers = body.get("layers", body) if isinstance(body, dict) else body
    return {entry.get("config", {}).get("name") or entry.get("name") for entry in layers or []
            if isinstance(entry, dict)} - {None}


def reshard(path: str, folder: str, quantize: Mapping[str, object] | None = None,
            shard_size_bytes: int = DEFAULT_SHARD_BYTES, split_by_layer: bool = False,
            metadata: dict | None = None) -> dict:
    """tfjs_layers_model -> tfjs_layers_model without TensorFlow: weights read (dequantized) and
    written again in manifest order, in one group (the official converter's layout) or one per
    layer, with the new shard size and quantization. The topology is kept as it is."""
    artifacts, arrays = _read_layers_model(path)
    order = [spec.name for group in parse_manifest(artifacts.weights_manifest) for spec in group.specs]
    weights = [(name, arrays[name]) for name in order]
    if artifacts.model_topology and has_store_keys(arrays):
        weights = list(_named_weights(artifacts.model_topology, dict(weights)).items())
    if split_by_layer:
        layers = _layer_names(artifacts.model_topology)
        by_layer: dict[str, list] = {}
        for name, value in weights:
            parts = name.split("/")
            key = next((p for p in parts[:-1] if p in layers), parts[0])
            by_layer.setdefault(key, []).append((name, value))
        groups = list(by_layer.values())
    else:
        groups = [weights]
    return write_layers_model(artifacts.model_topology, groups, folder, quantize, shard_size_bytes,
                              metadata if metadata is not None else artifacts.user_defined_metadata,
                              artifacts.generated_by)


# -- layers model -> Keras ----------------------------------------------------------------------------

def is_keras3_topology(topology: dict) -> bool:
    """Keras 3 wrote it: its keras_version says so, or its inbound nodes are Keras 3's {args, kwargs}."""
    if str(topology.get("keras_version", "")).startswith("3"):
        return True
    text = json.dumps(topology.get("model_config", topology))
    return '"__keras_tensor__"' in text


@contextlib.contextmanager
def _quiet_keras():
    """Keras's absl warnings (legacy HDF5, compiled metrics) are noise in a conversion."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(HDF5|legacy).*")
            yield
    finally:
        logger.setLevel(level)


def build_keras_model(topology: dict):
    """The Keras model of a layers-model topology, built by the Keras that wrote it."""
    config = topology.get("model_config", topology)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConversionError("the layers model's topology has no model_config with a class_name")
    try:
        if is_keras3_topology(topology):
            import keras
            model_class = keras.Sequential if config["class_name"] == "Sequential" else keras.Model
            return model_class.from_config(config["config"])
        import tf_keras
        return tf_keras.models.model_from_json(json.dumps(config))
    except Exception as error:
        raise ConversionError(f"Keras cannot rebuild the model from its topology: {error}") from None


def _variable_name(variable) -> str:
    return _weight_name(getattr(variable, "path", None) or variable.name)


def set_weights_by_name(model, arrays: Mapping[str, np.ndarray]) -> None:
    """Assigns every variable of `model` its manifest weight: the same name; else the name without
    an RNN cell's scope (layer/cell/kernel written as layer/kernel, as the official loader allows);
    else the one manifest name that ends with the other (model-name prefixes differ between Keras
    versions)."""
    unused = dict(arrays)
    missing = []
    for variable in model.weights:
        name = _variable_name(variable)
        tokens = name.split("/")
        candidates = [name, "/".join(tokens[:-2] + tokens[-1:])] if len(tokens) > 2 else [name]
        found = next((c for c in candidates if c in unused), None)
        if found is None:
            suffix = [n for n in unused if n.endswith("/" + name) or name.endswith("/" + n)]
            found = suffix[0] if len(suffix) == 1 else None
        if found is None:
            missing.append(name)
            continue
        value = unused.pop(found)
        if tuple(value.shape) != tuple(variable.shape):
            raise ConversionError(f"weight {found!r} has shape {list(value.shape)} but the model's {name!r} "
                                  f"has {list(variable.shape)}")
        variable.assign(value.astype(np.dtype(_dtype_name(variable))))
    if missing:
        raise ConversionError(f"the manifest has no weights for {', '.join(missing[:8])}"
                              + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""))


def _dtype_name(variable) -> str:
    dtype = variable.dtype
    return getattr(dtype, "name", None) or str(dtype)


def load_keras_model(path: str):
    """tfjs_layers_model (model.json path or its folder) -> a Keras model with its weights."""
    artifacts, arrays = _read_layers_model(path)
    if not artifacts.model_topology:
        raise ConversionError(f"{path} has no topology (a weights-only model) to rebuild a Keras model from")
    arrays = _named_weights(artifacts.model_topology, arrays)  # before Keras, whose from_config empties the config
    model = build_keras_model(artifacts.model_topology)
    set_weights_by_name(model, arrays)
    return model


def _is_keras3_model(model) -> bool:
    return type(model).__module__.startswith("keras.")


def save_h5(model, target: str) -> None:
    """Writes `model` as a Keras HDF5 file at `target` (any extension)."""
    with _quiet_keras():
        if not _is_keras3_model(model):
            model.save(target, save_format="h5")
        elif target.endswith((".h5", ".hdf5")):
            model.save(target)
        else:  # Keras 3 picks the format by extension: write model.h5 and move it
            with tempfile.TemporaryDirectory(prefix="tfgl-keras-") as folder:
                model.save(os.path.join(folder, "model.h5"))
                shutil.copyfile(os.path.join(folder, "model.h5"), target)


def save_keras_v3(model, target: str) -> None:
    """Writes `model` as a `.keras` archive (tf_keras's own v3 format for Keras 2 models, as official)."""
    with _quiet_keras():
        if _is_keras3_model(model):
            with tempfile.TemporaryDirectory(prefix="tfgl-keras-") as folder:
                model.save(os.path.join(folder, "model.keras"))
                shutil.copyfile(os.path.join(folder, "model.keras"), target)
        else:
            model.save(target, save_format="keras")


def save_saved_model(model, folder: str) -> None:
    """tf_keras models: a tf_keras SavedModel (loadable by tf_keras.models.load_model, as official).
    Keras 3 writes no Keras SavedModel: its models are exported as a TensorFlow SavedModel with a
    serving_default signature (model.export)."""
    with _quiet_keras():
        if _is_keras3_model(model):
            model.export(folder, verbose=False)
        else:
            model.save(folder, include_optimizer=False, save_format="tf")


@contextlib.contextmanager
def as_saved_model(path: str):
    """Yields a SavedModel folder (serving_default) of a layers model (removed afterwards)."""
    model = load_keras_model(path)
    with tempfile.TemporaryDirectory(prefix="tfgl-layers-") as folder:
        exported = os.path.join(folder, "saved_model")
        save_saved_model(model, exported)
        yield exported
