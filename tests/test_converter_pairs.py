"""Every converter pair beyond SavedModel -> graph model: Keras files and tf_keras SavedModels to
layers models (model.json and shards equal to the official converter's), layers models back to
Keras, resharded/requantized without TensorFlow, and to graph models; TF Hub modules and frozen
graphs to graph models. Outputs are checked against TensorFlow/Keras: layers models run by
engine.load_layers_model, graph models by engine.load_graph_model, both on cpu."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine.errors import ConversionError
from tests.conftest import FIXTURES, convert, fixture_path
from tests.fixtures import layers_sources

pytestmark = [pytest.mark.tf, pytest.mark.converter,
              pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file"),
              pytest.mark.filterwarnings("ignore:The structure of `inputs` doesn't match")]

TOLERANCE = 1e-4  # max |error| <= TOLERANCE * max |reference| for float32 weights
INPUT_NAMES = {"cnn": ["image"], "lstm": ["sequence"], "mlp": ["features", "extra"], "sequential": ["values"]}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def max_error(got, want) -> float:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    return float(np.abs(got - want).max())


def assert_close(got, want, tolerance: float = TOLERANCE) -> None:
    error, scale = max_error(got, want), float(np.abs(want).max())
    assert error <= tolerance * scale, f"max error {error:.3g} > {tolerance} * {scale:.3g}"


def run_layers(folder, inputs) -> np.ndarray:
    return engine.load_layers_model(str(folder), backend="cpu").execute(list(inputs))[0]


def run_graph(folder, name: str, inputs) -> np.ndarray:
    model = engine.load_graph_model(str(folder), backend="cpu")
    result = model.predict(dict(zip(INPUT_NAMES[name], inputs)))
    return next(iter(result.values())) if isinstance(result, dict) else result


def _without(value, key: str):
    if isinstance(value, dict):
        return {k: _without(v, key) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [_without(v, key) for v in value]
    return value


def layers_structure(path) -> dict:
    """What must agree with the official converter: model.json's keys in order, format, generatedBy,
    the whole topology (less Python object ids, which differ per process), and every group of
    the manifest (shard paths; names, shapes, dtypes and quantization of the weights, in order)."""
    with open(path) as file:
        data = json.load(file)
    manifest = [(group["paths"], [(w["name"], w["shape"], w["dtype"], w.get("quantization")) for w in group["weights"]])
                for group in data["weightsManifest"]]
    return {"keys": list(data), "format": data["format"], "generatedBy": data["generatedBy"],
            "topology": _without(data["modelTopology"], "shared_object_id"), "manifest": manifest}


def shard_bytes(folder) -> list[bytes]:
    with open(os.path.join(folder, "model.json")) as file:
        manifest = json.load(file)["weightsManifest"]
    out = []
    for group in manifest:
        for path in group["paths"]:
            with open(os.path.join(folder, path), "rb") as file:
                out.append(file.read())
    return out


class KerasSources:
    """The source models of layers_sources.py as Keras files, their Keras outputs, and tfgl's
    layers-model conversions of them: each built once per session."""

    def __init__(self, root):
        self.root = root
        self._cache: dict = {}

    def _once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def model(self, name: str, version: str):
        return self._once(("model", name, version), lambda: layers_sources.build(name, version))

    def reference(self, name: str, version: str) -> np.ndarray:
        return self._once(("reference", name, version),
                          lambda: self.model(name, version).predict(layers_sources.inputs_for(name), verbose=0))

    def h5(self, name: str, version: str) -> str:
        return self._once(("h5", name, version), lambda: layers_sources.save_h5(
            name, version, str(self.root / f"{name}_k{version}.h5")))

    def keras_v3(self, name: str) -> str:
        def make():
            path = str(self.root / f"{name}.keras")
            self.model(name, "3").save(path)
            return path
        return self._once(("keras", name), make)

    def layers(self, name: str, version: str) -> str:
        """tfgl's tfjs_layers_model of the .h5 file (no flags)."""
        def make():
            out = str(self.root / f"layers_{name}_k{version}")
            convert(self.h5(name, version), out, "--input_format=keras")
            return out
        return self._once(("layers", name, version), make)


@pytest.fixture(scope="session")
def keras_sources(tmp_path_factory):
    return KerasSources(tmp_path_factory.mktemp("keras_sources"))


# -- keras (.h5) -> tfjs_layers_model -------------------------------------------------------------------

@pytest.mark.parametrize("fixture,name,version,flags", [
    ("layers_cnn", "cnn", "2", []),
    ("layers_cnn_uint8", "cnn", "2", ["--quantize_uint8"]),
    ("layers_lstm", "lstm", "2", []),
    ("layers_mlp_k3_split", "mlp", "3", ["--split_weights_by_layer"]),
])
def test_h5_to_layers_model_same_as_official(fixture, name, version, flags, keras_sources, tmp_path):
    out = tmp_path / "web_model"
    convert(keras_sources.h5(name, version), str(out), "--input_format=keras", *flags)
    assert layers_structure(out / "model.json") == layers_structure(fixture_path(fixture))
    # same weights in the same bytes, quantized ones included
    assert shard_bytes(out) == shard_bytes(os.path.join(FIXTURES, fixture))
    inputs = layers_sources.inputs_for(name)
    got, want = run_layers(out, inputs), keras_sources.reference(name, version)
    if "--quantize_uint8" in flags:
        # the official converter's quantized model computes the same; against float Keras only
        # the quantization error remains
        assert max_error(got, run_layers(os.path.join(FIXTURES, fixture), inputs)) <= 1e-6
        assert 0 < max_error(got, want) <= 0.01 * np.abs(want).max()
    else:
        assert_close(got, want)


@pytest.mark.parametrize("input_format", ["keras_keras", "keras"])
def test_keras_v3_archive_to_layers_model(input_format, keras_sources, tmp_path):
    """A .keras archive: the official converter's topology; weights named as for Keras 3 .h5
    files (the official converter keeps the archive's store keys, which loaders must rename), same values."""
    out = tmp_path / "web_model"
    convert(keras_sources.keras_v3("mlp"), str(out), f"--input_format={input_format}")
    ours, official = layers_structure(out / "model.json"), layers_structure(fixture_path("layers_mlp_keras"))
    assert {k: v for k, v in ours.items() if k != "manifest"} == {k: v for k, v in official.items() if k != "manifest"}
    from_h5 = layers_structure(fixture_path("layers_mlp_k3_split"))["manifest"]
    assert [w for _, group in ours["manifest"] for w in group] == [w for _, group in from_h5 for w in group]
    assert len(ours["manifest"]) == 1
    assert_close(run_layers(out, layers_sources.inputs_for("mlp")), keras_sources.reference("mlp", "3"))


def test_split_quantize_shard_and_metadata_flags(keras_sources, tmp_path):
    metadata = tmp_path / "labels.json"
    metadata.write_text(json.dumps(["a", "b", "c"]))
    out = tmp_path / "web_model"
    convert(keras_sources.h5("mlp", "2"), str(out), "--input_format=keras", "--split_weights_by_layer",
            "--quantize_float16=*kernel", "--quantize_uint16=bn/*", "--weight_shard_size_bytes=64",
            f"--metadata=labels:{metadata}")
    data = json.loads((out / "model.json").read_text())
    assert list(data) == ["format", "generatedBy", "convertedBy", "userDefinedMetadata", "modelTopology",
                          "weightsManifest"]
    assert data["userDefinedMetadata"] == {"labels": ["a", "b", "c"]}
    manifest = data["weightsManifest"]
    layers = [{w["name"].split("/")[0] for w in group["weights"]} for group in manifest]
    assert layers == [{"bn"}, {"hidden"}, {"mix"}, {"probs"}, {"project"}]  # one group per layer, h5 order
    for g, group in enumerate(manifest):
        assert group["paths"] == [f"group{g + 1}-shard{i + 1}of{len(group['paths'])}.bin"
                                  for i in range(len(group["paths"]))]
        sizes = [os.path.getsize(out / p) for p in group["paths"]]
        assert all(s == 64 for s in sizes[:-1]) and 0 < sizes[-1] <= 64
    kinds = {w["name"]: (w.get("quantization") or {}).get("dtype") for g in manifest for w in g["weights"]}
    assert kinds["hidden/kernel"] == "float16" and kinds["bn/moving_mean"] == "uint16" and kinds["mix/bias"] is None
    got, want = run_layers(out, layers_sources.inputs_for("mlp")), keras_sources.reference("mlp", "2")
    assert 0 < max_error(got, want) <= 1e-3 * np.abs(want).max()  # float16 kernels, uint16 batch norm


def test_weights_only_h5_to_layers_model(keras_sources, tmp_path):
    """A tf_keras save_weights file has no topology: model.json gets modelTopology null, as official."""
    model = keras_sources.model("mlp", "2")
    model.save_weights(str(tmp_path / "weights.h5"))
    out = tmp_path / "web_model"
    convert(str(tmp_path / "weights.h5"), str(out), "--input_format=keras")
    data = json.loads((out / "model.json").read_text())
    assert data["modelTopology"] is None and data["generatedBy"] is None
    arrays = engine.io.read_weight_arrays(data["weightsManifest"], str(out))
    assert len(data["weightsManifest"]) == 1 and len(arrays) == len(model.weights)
    for weight in model.weights:
        np.testing.assert_array_equal(arrays[weight.name[:-2]], weight.numpy())


def test_keras_saved_model_to_layers_model(keras_sources, tmp_path):
    """A tf_keras SavedModel gives what its .h5 file gives: the official layers_cnn fixture."""
    saved_model = tmp_path / "keras_saved_model"
    keras_sources.model("cnn", "2").save(str(saved_model), save_format="tf")
    out = tmp_path / "web_model"
    convert(str(saved_model), str(out), "--input_format=keras_saved_model")
    assert layers_structure(out / "model.json") == layers_structure(fixture_path("layers_cnn"))
    assert shard_bytes(out) == shard_bytes(os.path.join(FIXTURES, "layers_cnn"))
    assert_close(run_layers(out, layers_sources.inputs_for("cnn")), keras_sources.reference("cnn", "2"))


# -- tfjs_layers_model -> Keras -------------------------------------------------------------------------

@pytest.mark.parametrize("name,version", [("cnn", "2"), ("lstm", "2"), ("mlp", "3"), ("sequential", "3"),
                                          ("sequential", "2")])
def test_round_trip_layers_to_keras_h5_and_back(name, version, keras_sources, tmp_path):
    """tfjs_layers_model -> .h5 (rebuilt by the Keras that wrote it) -> tfjs_layers_model: Keras
    loads the .h5 and computes the source's outputs; the second layers model has the first's
    topology and weights, bit for bit."""
    layers = keras_sources.layers(name, version)
    h5 = tmp_path / "model.h5"
    convert(os.path.join(layers, "model.json"), str(h5), "--input_format=tfjs_layers_model")  # default: keras
    module = layers_sources.keras_module(version)
    rebuilt = module.models.load_model(str(h5), compile=False)
    inputs = layers_sources.inputs_for(name)
    assert max_error(rebuilt.predict(inputs, verbose=0), keras_sources.reference(name, version)) == 0
    again = tmp_path / "again"
    convert(str(h5), str(again), "--input_format=keras")
    assert layers_structure(again / "model.json") == layers_structure(os.path.join(layers, "model.json"))
    assert shard_bytes(again) == shard_bytes(layers)
    assert_close(run_layers(again, inputs), keras_sources.reference(name, version))


def test_keras3_sequential_weight_names(keras_sources):
    """Keras 3 names a Sequential model's weights under the model's name (seq/dense_a/kernel), in
    its .h5 files and so in the official converter's output; the layers model keeps those names, and
    the engine finds them (the model's name is an optional outer weight scope)."""
    with open(os.path.join(keras_sources.layers("sequential", "3"), "model.json")) as file:
        names = [w["name"] for g in json.load(file)["weightsManifest"] for w in g["weights"]]
    assert names == ["seq/dense_a/kernel", "seq/dense_a/bias", "seq/dense_b/kernel", "seq/dense_b/bias"]


@pytest.mark.parametrize("version", ["2", "3"])
def test_layers_to_keras_saved_model(version, keras_sources, tmp_path):
    layers = keras_sources.layers("mlp", version)
    out = tmp_path / "saved_model"
    convert(layers, str(out), "--input_format=tfjs_layers_model", "--output_format=keras_saved_model")
    inputs = layers_sources.inputs_for("mlp")
    want = keras_sources.reference("mlp", version)
    if version == "2":  # a tf_keras SavedModel: tf_keras loads it, and it converts back
        import tf_keras
        assert max_error(tf_keras.models.load_model(str(out)).predict(inputs, verbose=0), want) == 0
        again = tmp_path / "again"
        convert(str(out), str(again), "--input_format=keras_saved_model")
        assert shard_bytes(again) == shard_bytes(layers)
    else:  # Keras 3 writes no Keras SavedModel: an exported TensorFlow SavedModel (serving_default)
        import tensorflow as tf
        function = tf.saved_model.load(str(out)).signatures["serving_default"]
        result = function(**{k: tf.constant(v) for k, v in zip(INPUT_NAMES["mlp"], inputs)})
        assert_close(next(iter(result.values())).numpy(), want)


@pytest.mark.parametrize("version", ["2", "3"])
def test_layers_to_keras_v3_archive(version, keras_sources, tmp_path):
    layers = keras_sources.layers("mlp", version)
    out = tmp_path / "model.keras"
    convert(layers, str(out), "--input_format=tfjs_layers_model", "--output_format=keras_keras")
    module = layers_sources.keras_module(version)
    rebuilt = module.models.load_model(str(out), compile=False)
    assert max_error(rebuilt.predict(layers_sources.inputs_for("mlp"), verbose=0),
                     keras_sources.reference("mlp", version)) == 0


# -- tfjs_layers_model -> tfjs_layers_model (no TensorFlow) ------------------------------------------------

NO_TENSORFLOW = """
import sys
for blocked in ("tensorflow", "tf_keras", "keras", "h5py"):
    sys.modules[blocked] = None
from engine.cli import main
code = main(["--debug", "convert", *sys.argv[1:]])
loaded = sorted(m for m, module in sys.modules.items() if module is not None
                and m.split(".")[0] in ("tensorflow", "tf_keras", "keras", "h5py"))
assert not loaded, loaded
sys.exit(code)
"""


def convert_without_tensorflow(*args: str) -> None:
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, *args], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_layers_to_layers_reshards_and_quantizes_without_tensorflow(keras_sources, tmp_path):
    layers = keras_sources.layers("cnn", "2")
    plain, quantized = tmp_path / "plain", tmp_path / "quantized"
    convert_without_tensorflow(os.path.join(layers, "model.json"), str(plain), "--input_format=tfjs_layers_model",
                               "--output_format=tfjs_layers_model", "--weight_shard_size_bytes=500")
    convert_without_tensorflow(layers, str(quantized), "--input_format=tfjs_layers_model",
                               "--output_format=tfjs_layers_model", "--quantize_uint8=*kernel")
    with open(os.path.join(layers, "model.json")) as file:
        before = json.load(file)
    after = json.loads((plain / "model.json").read_text())
    assert after["modelTopology"] == before["modelTopology"] and after["generatedBy"] == before["generatedBy"]
    paths = after["weightsManifest"][0]["paths"]
    assert len(paths) == 6 and [os.path.getsize(plain / p) for p in paths][:-1] == [500] * 5
    assert b"".join(shard_bytes(plain)) == b"".join(shard_bytes(layers))
    kinds = {w["name"]: (w.get("quantization") or {}).get("dtype")
             for w in json.loads((quantized / "model.json").read_text())["weightsManifest"][0]["weights"]}
    assert {n for n, k in kinds.items() if k == "uint8"} == {"conv/kernel", "depthwise/depthwise_kernel",
                                                             "probs/kernel"}
    inputs, want = layers_sources.inputs_for("cnn"), keras_sources.reference("cnn", "2")
    assert_close(run_layers(plain, inputs), want)
    assert 0 < max_error(run_layers(quantized, inputs), want) <= 0.01 * np.abs(want).max()


def test_quantized_layers_model_resharded_to_float(tmp_path):
    """A quantized input (the official uint8 fixture) comes out as its dequantized float32 weights."""
    out = tmp_path / "float"
    convert_without_tensorflow(fixture_path("layers_cnn_uint8"), str(out), "--input_format=tfjs_layers_model",
                               "--output_format=tfjs_layers_model", "--split_weights_by_layer")
    manifest = json.loads((out / "model.json").read_text())["weightsManifest"]
    assert [sorted({w["name"].split("/")[0] for w in g["weights"]}) for g in manifest] == \
        [["bn"], ["conv"], ["depthwise"], ["probs"]]
    assert not any("quantization" in w for g in manifest for w in g["weights"])
    inputs = layers_sources.inputs_for("cnn")
    assert max_error(run_layers(out, inputs), run_layers(os.path.join(FIXTURES, "layers_cnn_uint8"), inputs)) == 0


# -- tfjs_layers_model -> tfjs_graph_model -------------------------------------------------------------------

@pytest.mark.parametrize("name,version", [("cnn", "2"), ("lstm", "2"), ("mlp", "3")])
def test_layers_to_graph_model(name, version, keras_sources, tmp_path):
    out = tmp_path / "graph_model"
    convert(keras_sources.layers(name, version), str(out), "--input_format=tfjs_layers_model",
            "--output_format=tfjs_graph_model")
    data = json.loads((out / "model.json").read_text())
    assert data["format"] == "graph-model" and set(data["signature"]["inputs"]) == set(INPUT_NAMES[name])
    inputs = layers_sources.inputs_for(name)
    assert_close(run_graph(out, name, inputs), keras_sources.reference(name, version))


# -- tf_hub and tf_frozen_model -> tfjs_graph_model ----------------------------------------------------------

def _hub_module():
    import tensorflow as tf
    rng = np.random.default_rng(7)

    class Hub(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(rng.normal(0, 0.5, (4, 3)).astype(np.float32))
            self.b = tf.Variable(rng.normal(0, 0.2, (3,)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def embed(self, x):
            return {"default": tf.nn.relu(tf.matmul(x, self.w) + self.b)}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def other(self, x):
            return {"scores": tf.tanh(tf.matmul(x, self.w))}

    return Hub()


def test_tf_hub_module_to_graph_model(tmp_path):
    import tensorflow as tf
    module = _hub_module()
    hub = tmp_path / "hub_module"
    tf.saved_model.save(module, str(hub), signatures={"default": module.embed, "other": module.other})
    x = np.random.default_rng(8).normal(0, 1, (3, 4)).astype(np.float32)
    convert(str(hub), str(tmp_path / "default"), "--input_format=tf_hub")  # signature 'default'
    convert(str(hub), str(tmp_path / "other"), "--input_format=tf_hub", "--signature_name=other")
    for folder, function, key in (("default", module.embed, "default"), ("other", module.other, "scores")):
        data = json.loads((tmp_path / folder / "model.json").read_text())
        assert list(data["signature"]["outputs"]) == [key]
        got = engine.load_graph_model(str(tmp_path / folder), backend="cpu").predict({"x": x})
        assert_close(got, function(tf.constant(x))[key].numpy())


def test_frozen_model_to_graph_model(tmp_path):
    import tensorflow as tf
    from tensorflow.python.framework import convert_to_constants
    module = _hub_module()
    frozen = convert_to_constants.convert_variables_to_constants_v2(module.embed.get_concrete_function())
    output = frozen.outputs[0].name.split(":")[0]
    pb = tmp_path / "frozen.pb"
    pb.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    out = tmp_path / "graph_model"
    convert(str(pb), str(out), "--input_format=tf_frozen_model", f"--output_node_names={output}")
    x = np.random.default_rng(9).normal(0, 1, (3, 4)).astype(np.float32)
    model = engine.load_graph_model(str(out), backend="cpu")
    assert_close(model.execute({"x": x}, output), module.embed(tf.constant(x))["default"].numpy())


# -- errors and atomic outputs ------------------------------------------------------------------------------

def test_errors_leave_nothing_behind(keras_sources, tmp_path):
    from converter import convert as convert_api
    layers = keras_sources.layers("mlp", "2")
    with pytest.raises(ConversionError, match="not a layers-model"):
        convert_api(fixture_path("small_cnn"), str(tmp_path / "out.h5"), "tfjs_layers_model", "keras")
    assert not (tmp_path / "out.h5").exists()
    existing = tmp_path / "existing.h5"
    existing.write_bytes(b"user data")
    with pytest.raises(ConversionError, match="--overwrite"):
        convert_api(layers, str(existing), "tfjs_layers_model", "keras")
    assert existing.read_bytes() == b"user data"
    convert_api(layers, str(existing), "tfjs_layers_model", "keras", overwrite=True)
    assert existing.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    with pytest.raises(ConversionError, match="not a tf_keras one"):
        import tensorflow as tf
        module = _hub_module()
        tf.saved_model.save(module, str(tmp_path / "plain_sm"), signatures=module.embed)
        convert_api(str(tmp_path / "plain_sm"), str(tmp_path / "web"), "keras_saved_model")
    assert not (tmp_path / "web").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tfgl")] == []
    from engine.cli import main
    assert main(["convert", layers, str(tmp_path / "x.h5"), "--input_format=tfjs_layers_model",
                 "--weight_shard_size_bytes=100"]) == 1  # shard size applies to TF.js outputs only
