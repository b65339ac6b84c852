"""tfgl's converter: same model.json structure as the official converter's fixtures, outputs equal
to TensorFlow's, tensorflowjs_converter's flags, and all-at-once unsupported-op reports."""
import json
import os
import re

import numpy as np
import pytest

import engine
from engine.errors import ConversionError
from tests.conftest import convert, fixture_path
from tests.fixtures import sources
from tests.test_models import assert_matches, predict_dict

pytestmark = [pytest.mark.tf, pytest.mark.converter]


def _uncounted(name: str) -> str:
    return re.sub(r"(__inference_\w*?)(_\d+)+(_frozen_\d+)?(?=/|$)", r"\1_N", name)


def structure(path: str) -> dict:
    """What must agree with the official converter: top-level keys in order, every node's name, op,
    inputs and attr names, and the weights manifest's entries. TensorFlow's internal `_`-attrs
    (like `_has_manual_control_dependencies`) depend on how the source was traced, not on the
    converter, so they are left out, as are the process-wide counters in traced function names
    (`__inference_..._while_body_825_frozen_2022`)."""
    with open(path) as file:
        data = json.load(file)
    topology = data["modelTopology"]
    nodes = {n["name"]: (n["op"], tuple(n.get("input", [])),
                         tuple(sorted(a for a in n.get("attr", {}) if not a.startswith("_"))))
             for n in topology["node"]}
    functions = sorted(_uncounted(f["signature"]["name"]) for f in topology.get("library", {}).get("function", []))
    weights = [(_uncounted(w["name"]), tuple(w["shape"]), w["dtype"], (w.get("quantization") or {}).get("dtype"))
               for group in data["weightsManifest"] for w in group["weights"]]
    return {"keys": list(data), "nodes": nodes, "functions": functions, "weights": sorted(weights),
            "signature": data["signature"], "topology_keys": sorted(topology), "format": data["format"]}


@pytest.mark.parametrize("fixture,source,flags", [
    ("small_cnn", "small_cnn", []),
    ("mobilenet_v2", "mobilenet_v2", []),
    ("mobilenet_v2_uint8", "mobilenet_v2", ["--quantize_uint8"]),
    ("lstm_cf1", "lstm", []),
    ("lstm_cf2", "lstm", ["--control_flow_v2=true"]),
    ("loop_cf1", "loop", []),
    ("loop_cf2", "loop", ["--control_flow_v2", "true"]),
])
def test_same_structure_as_official_and_same_outputs(fixture, source, flags, saved_models, tmp_path):
    out = tmp_path / "web_model"
    convert(saved_models(source), str(out), "--input_format=tf_saved_model", *flags)
    ours, official = structure(out / "model.json"), structure(fixture_path(fixture))
    assert ours == official
    inputs = sources.inputs_for(source)
    model = engine.load_graph_model(str(out), backend="cpu")
    if "--quantize_uint8" in flags:
        # same quantized bytes as the official converter, so the same outputs
        official_model = engine.load_graph_model(fixture_path(fixture), backend="cpu")
        assert_matches(predict_dict(model, inputs), predict_dict(official_model, inputs), tolerance=1e-6)
    else:
        assert_matches(predict_dict(model, inputs), sources.tensorflow_outputs(saved_models(source), inputs))


@pytest.mark.parametrize("extension", [".h5", ".keras"])
def test_keras_files_to_graph_model(extension, tmp_path):
    keras_model = sources.small_cnn()
    path = tmp_path / f"model{extension}"
    keras_model.save(path)
    out = tmp_path / "web_model"
    convert(str(path), str(out), "--input_format=keras", "--output_format=tfjs_graph_model")
    inputs = sources.inputs_for("small_cnn")
    want = keras_model.predict(inputs["image"], verbose=0)
    got = engine.load_graph_model(str(out), backend="cpu").predict(inputs)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_flags_quantize_patterns_shards_metadata(saved_models, tmp_path):
    metadata = tmp_path / "meta.json"
    metadata.write_text(json.dumps({"labels": ["a", "b"]}))
    out = tmp_path / "web_model"
    convert(saved_models("small_cnn"), str(out), "--quantize_float16=*conv1*,*pointwise*", "--quantize_uint8=*hidden*",
            "--weight_shard_size_bytes=1024", f"--metadata=info:{metadata}")
    data = json.loads((out / "model.json").read_text())
    assert data["userDefinedMetadata"] == {"info": {"labels": ["a", "b"]}}
    manifest = data["weightsManifest"][0]
    assert len(manifest["paths"]) > 1 and manifest["paths"][0].endswith(f"of{len(manifest['paths'])}.bin")
    sizes = [os.path.getsize(out / p) for p in manifest["paths"]]
    assert all(s == 1024 for s in sizes[:-1]) and 0 < sizes[-1] <= 1024
    kinds = {w["name"]: (w.get("quantization") or {}).get("dtype") for w in manifest["weights"]}
    def chosen(name):
        return "float16" if "conv1" in name or "pointwise" in name else "uint8" if "hidden" in name else None
    floats = {n for n, k in kinds.items() if n.endswith(("ReadVariableOp", "Squeeze", "mul", "sub"))}
    assert floats and all(kinds[n] == chosen(n) for n in floats)
    assert {"float16", "uint8", None} <= set(kinds.values())


def test_unsupported_ops_are_listed_at_once_and_skip_op_check_bypasses(tmp_path):
    import tensorflow as tf

    class Special(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([3], tf.float32)])
        def __call__(self, x):
            return tf.math.lgamma(x) + tf.math.digamma(x)

    module = Special()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures=module.__call__)
    from converter import convert as convert_api
    with pytest.raises(ConversionError) as error:
        convert_api(str(tmp_path / "sm"), str(tmp_path / "out"))
    assert "Lgamma" in str(error.value) and "Digamma" in str(error.value)
    assert not (tmp_path / "out").exists()  # nothing half-written
    convert_api(str(tmp_path / "sm"), str(tmp_path / "out"), skip_op_check=True)
    ops = {n["op"] for n in json.loads((tmp_path / "out" / "model.json").read_text())["modelTopology"]["node"]}
    assert {"Lgamma", "Digamma"} <= ops


def test_bad_signature_name_and_existing_output(saved_models, tmp_path):
    from converter import convert as convert_api
    with pytest.raises(ConversionError, match="signature 'nope' is not in the SavedModel"):
        convert_api(saved_models("small_cnn"), str(tmp_path / "a"), signature_name="nope")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("user data")
    with pytest.raises(ConversionError, match="--overwrite"):
        convert_api(saved_models("small_cnn"), str(occupied))
    assert (occupied / "keep.txt").read_text() == "user data"
    convert_api(saved_models("small_cnn"), str(occupied), overwrite=True)
    assert (occupied / "model.json").exists() and not (occupied / "keep.txt").exists()


def test_strip_debug_ops(tmp_path):
    import tensorflow as tf

    class Checked(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def __call__(self, x):
            tf.debugging.assert_all_finite(x, "x must be finite")
            y = tf.debugging.check_numerics(x * 2.0, "doubled")
            with tf.control_dependencies([tf.debugging.assert_greater(tf.reduce_sum(tf.abs(y)), -1.0)]):
                return {"y": tf.identity(y + 1.0)}

    module = Checked()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures=module.__call__)
    from converter import convert as convert_api
    with pytest.raises(ConversionError) as error:
        convert_api(str(tmp_path / "sm"), str(tmp_path / "plain"))
    assert "CheckNumerics" in str(error.value) and "Assert" in str(error.value)
    convert(str(tmp_path / "sm"), str(tmp_path / "stripped"), "--strip_debug_ops=True")
    data = json.loads((tmp_path / "stripped" / "model.json").read_text())
    assert not {"CheckNumerics", "Assert"} & {n["op"] for n in data["modelTopology"]["node"]}
    x = np.array([[1.0, -2.0, 3.0]], np.float32)
    np.testing.assert_allclose(engine.load_graph_model(str(tmp_path / "stripped"), backend="cpu").predict(x),
                               x * 2 + 1)
