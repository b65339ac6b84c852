"""model.json: graph and layers models, from a folder, a file, a file:// URL and over HTTP; validation."""
import copy
import http.server
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelFormatError, TfglError, UnsafePathError, WeightsError
from engine.io import (GRAPH_MODEL, LAYERS_MODEL, load_model_json, model_json_dict, parse_model_json,
                       read_weight_arrays, write_weights)

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_CNN = FIXTURES / "small_cnn"


@pytest.fixture(scope="module")
def graph_json():
    return json.loads((SMALL_CNN / "model.json").read_text())


@pytest.fixture(scope="module")
def small_cnn_weights():
    manifest = json.loads((SMALL_CNN / "model.json").read_text())["weightsManifest"]
    return read_weight_arrays(manifest, str(SMALL_CNN))


def _layers_json(manifest):
    """A layers model as the official converter writes it (Keras config inside modelTopology)."""
    return {
        "format": "layers-model", "generatedBy": "keras v3.10.0", "convertedBy": "TensorFlow.js Converter v4.22.0",
        "modelTopology": {
            "keras_version": "3.10.0", "backend": "tensorflow",
            "model_config": {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "dtype": "float32"}},
                {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "linear"}}]}},
        },
        "trainingConfig": {"loss": "mse", "optimizer_config": {"class_name": "SGD", "config": {}}},
        "weightsManifest": manifest,
    }


@pytest.fixture
def layers_dir(tmp_path):
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    bias = np.array([0.5, -0.5], np.float32)
    manifest = write_weights([[("dense/kernel", kernel), ("dense/bias", bias)]], str(tmp_path))
    (tmp_path / "model.json").write_text(json.dumps(_layers_json(manifest)))
    return tmp_path, {"dense/kernel": kernel, "dense/bias": bias}


def _assert_small_cnn(artifacts, weights, base):
    assert artifacts.format == GRAPH_MODEL
    assert artifacts.base == base
    assert isinstance(artifacts.model_topology["node"], list) and artifacts.model_topology["node"]
    assert artifacts.signature and set(artifacts.signature) >= {"inputs", "outputs"}
    assert artifacts.converted_by.startswith("TensorFlow.js Converter")
    loaded = read_weight_arrays(artifacts.weights_manifest, artifacts.base, artifacts.headers)
    assert loaded.keys() == weights.keys()
    for name in weights:
        np.testing.assert_array_equal(loaded[name], weights[name])


# -- locations ------------------------------------------------------------------------------------

def test_graph_model_from_folder_file_and_file_url(small_cnn_weights):
    _assert_small_cnn(load_model_json(SMALL_CNN), small_cnn_weights, str(SMALL_CNN))
    _assert_small_cnn(load_model_json(str(SMALL_CNN / "model.json")), small_cnn_weights, str(SMALL_CNN))
    url = (SMALL_CNN / "model.json").as_uri()
    _assert_small_cnn(load_model_json(url), small_cnn_weights, SMALL_CNN.as_uri() + "/")


def test_relative_path(small_cnn_weights, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    artifacts = load_model_json(os.path.join("small_cnn", "model.json"))
    assert artifacts.base == str(SMALL_CNN)
    _assert_small_cnn(artifacts, small_cnn_weights, str(SMALL_CNN))


def test_file_url_with_spaces_and_non_ascii(tmp_path, small_cnn_weights):
    folder = tmp_path / "my models \u00e9\u4e16"
    shutil.copytree(SMALL_CNN, folder)
    url = (folder / "model.json").as_uri()
    assert "%20" in url
    _assert_small_cnn(load_model_json(url), small_cnn_weights, folder.as_uri() + "/")
    _assert_small_cnn(load_model_json(folder), small_cnn_weights, str(folder))


def test_layers_model(layers_dir):
    folder, weights = layers_dir
    for location in (folder, folder / "model.json", (folder / "model.json").as_uri()):
        artifacts = load_model_json(location)
        assert artifacts.format == LAYERS_MODEL
        assert artifacts.model_topology["model_config"]["class_name"] == "Sequential"
        assert artifacts.training_config == {"loss": "mse", "optimizer_config": {"class_name": "SGD", "config": {}}}
        assert artifacts.generated_by == "keras v3.10.0"
        loaded = read_weight_arrays(artifacts.weights_manifest, artifacts.base)
        assert list(loaded) == ["dense/kernel", "dense/bias"]
        for name, value in weights.items():
            np.testing.assert_array_equal(loaded[name], value)


def test_missing_model_file(tmp_path):
    with pytest.raises(TfglError, match="model.json"):
        load_model_json(tmp_path)
    with pytest.raises(TfglError, match="nope.json"):
        load_model_json((tmp_path / "nope.json").as_uri())


# -- HTTP -----------------------------------------------------------------------------------------

class _Server:
    def __init__(self, folder):
        self.requests = []
        owner = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                owner.requests.append((self.path, dict(self.headers)))
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path):
    shutil.copytree(SMALL_CNN, tmp_path / "models" / "cnn")
    srv = _Server(tmp_path)
    yield srv
    srv.close()


def test_http_model_and_headers(server, small_cnn_weights):
    headers = {"Authorization": "Bearer s3cret", "X-Tfgl-Test": "42"}
    artifacts = load_model_json(f"{server.url}/models/cnn/model.json", headers=headers)
    assert artifacts.headers == headers
    _assert_small_cnn(artifacts, small_cnn_weights, f"{server.url}/models/cnn/")
    paths = [path for path, _ in server.requests]
    assert paths == ["/models/cnn/model.json", "/models/cnn/group1-shard1of1.bin"]
    for _, received in server.requests:
        assert received.get("Authorization") == "Bearer s3cret"
        assert received.get("X-Tfgl-Test") == "42"


def test_http_query_string_is_kept_for_shards(server, small_cnn_weights):
    """As TF.js's parseUrl: the model URL's search params are appended to every weight URL (signed URLs)."""
    artifacts = load_model_json(f"{server.url}/models/cnn/model.json?token=a%2Fb&v=2")
    _assert_small_cnn(artifacts, small_cnn_weights, f"{server.url}/models/cnn/?token=a%2Fb&v=2")
    assert [path for path, _ in server.requests] == ["/models/cnn/model.json?token=a%2Fb&v=2",
                                                     "/models/cnn/group1-shard1of1.bin?token=a%2Fb&v=2"]


def test_http_errors(server):
    with pytest.raises(WeightsError, match="HTTP 404"):
        load_model_json(f"{server.url}/models/none/model.json")
    artifacts = load_model_json(f"{server.url}/models/cnn/model.json")
    broken = copy.deepcopy(artifacts.weights_manifest)
    broken[0]["paths"] = ["group1-shard9of9.bin"]
    with pytest.raises(WeightsError, match=r"group1-shard9of9.bin: HTTP 404"):
        read_weight_arrays(broken, artifacts.base)
    escaping = copy.deepcopy(artifacts.weights_manifest)
    escaping[0]["paths"] = ["../../cnn2/group1-shard1of1.bin"]
    with pytest.raises(UnsafePathError):
        read_weight_arrays(escaping, artifacts.base)
    escaping[0]["paths"] = ["http://other.example/group1-shard1of1.bin"]
    with pytest.raises(UnsafePathError):
        read_weight_arrays(escaping, artifacts.base)
    assert len(server.requests) == 3  # nothing was fetched for the refused paths


def test_http_connection_refused():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(WeightsError, match=f"127.0.0.1:{port}"):
        load_model_json(f"http://127.0.0.1:{port}/model.json")


# -- validation -----------------------------------------------------------------------------------

def test_invalid_json(tmp_path):
    (tmp_path / "model.json").write_text('{"format": "graph-model", ')
    with pytest.raises(ModelFormatError, match=r"model.json is not valid JSON"):
        load_model_json(tmp_path)
    (tmp_path / "model.json").write_bytes(b'{"format": "\xff"}')
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        load_model_json(tmp_path)
    (tmp_path / "model.json").write_text("")
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        load_model_json(tmp_path)


@pytest.mark.parametrize("data", [[], "graph-model", None, 3])
def test_not_an_object(data):
    with pytest.raises(ModelFormatError, match="JSON object"):
        parse_model_json(data, "/m")


def test_missing_format_is_inferred(graph_json):
    data = {k: v for k, v in graph_json.items() if k != "format"}
    assert parse_model_json(data, "/m").format == GRAPH_MODEL
    layers = _layers_json([])
    del layers["format"]
    assert parse_model_json(layers, "/m").format == LAYERS_MODEL
    bare_keras = {"modelTopology": {"class_name": "Sequential", "config": {"layers": []}}, "weightsManifest": []}
    assert parse_model_json(bare_keras, "/m").format == LAYERS_MODEL
    graph_without_nodes = {"modelTopology": {"versions": {"producer": 1}}}
    artifacts = parse_model_json(graph_without_nodes, "/m")
    assert artifacts.format == GRAPH_MODEL and artifacts.weights_manifest == []


def test_missing_format_and_unknown_topology():
    with pytest.raises(ModelFormatError, match="no 'format'"):
        parse_model_json({"modelTopology": {"something": 1}, "weightsManifest": []}, "/m")


def test_format_contradicting_topology(graph_json):
    with pytest.raises(ModelFormatError, match=r"'layers-model' but its modelTopology is a graph-model"):
        parse_model_json({**graph_json, "format": LAYERS_MODEL}, "/m")
    with pytest.raises(ModelFormatError, match=r"'graph-model' but its modelTopology is a layers-model"):
        parse_model_json({**_layers_json([]), "format": GRAPH_MODEL}, "/m")


@pytest.mark.parametrize("fmt", ["saved-model", "Graph-Model", "", 1])
def test_unknown_format(graph_json, fmt):
    with pytest.raises(ModelFormatError, match="'format'"):
        parse_model_json({**graph_json, "format": fmt}, "/m")


def test_declared_format_with_neutral_topology():
    assert parse_model_json({"format": LAYERS_MODEL, "modelTopology": {}, "weightsManifest": []}, "/m").format \
        == LAYERS_MODEL
    assert parse_model_json({"format": GRAPH_MODEL, "modelTopology": {}}, "/m").weights_manifest == []


@pytest.mark.parametrize("topology", ["missing", None, [], "x"])
def test_missing_topology(graph_json, topology):
    data = {k: v for k, v in graph_json.items() if k != "modelTopology"}
    if topology != "missing":
        data["modelTopology"] = topology
    with pytest.raises(ModelFormatError, match="modelTopology"):
        parse_model_json(data, "/m")


def test_missing_weights_manifest(graph_json):
    data = {k: v for k, v in graph_json.items() if k != "weightsManifest"}
    with pytest.raises(ModelFormatError, match="weightsManifest"):
        parse_model_json(data, "/m")  # the graph has nodes: its constants must come from somewhere
    with pytest.raises(ModelFormatError, match="weightsManifest"):
        parse_model_json({**graph_json, "weightsManifest": None}, "/m")
    with pytest.raises(ModelFormatError, match="weightsManifest"):
        parse_model_json({**graph_json, "weightsManifest": {"paths": []}}, "/m")
    layers = _layers_json([])
    del layers["weightsManifest"]
    with pytest.raises(ModelFormatError, match="weightsManifest"):
        parse_model_json(layers, "/m")


@pytest.mark.parametrize("key", ["signature", "userDefinedMetadata", "modelInitializer", "initializerSignature"])
def test_optional_objects_must_be_objects(graph_json, key):
    with pytest.raises(ModelFormatError, match=key):
        parse_model_json({**graph_json, key: ["not", "an", "object"]}, "/m")
    parse_model_json({**graph_json, key: None}, "/m")


def test_optional_fields_and_headers(graph_json):
    data = {**graph_json, "userDefinedMetadata": {"labels": ["a"]}, "modelInitializer": {"node": []},
            "initializerSignature": {"outputs": {}}}
    artifacts = parse_model_json(data, "/m", headers={"A": "b"})
    assert artifacts.user_defined_metadata == {"labels": ["a"]}
    assert artifacts.model_initializer == {"node": []} and artifacts.initializer_signature == {"outputs": {}}
    assert artifacts.headers == {"A": "b"} and artifacts.base == "/m"
    assert artifacts.training_config is None


def test_model_json_dict_round_trip_in_official_key_order(graph_json, layers_dir):
    artifacts = parse_model_json(graph_json, "/m")
    out = model_json_dict(artifacts)
    assert list(out) == list(graph_json)  # the official converter's key order
    assert json.dumps(out) == json.dumps(graph_json)
    folder, _ = layers_dir
    layers = json.loads((folder / "model.json").read_text())
    out = model_json_dict(load_model_json(folder))
    assert out == layers
    assert list(out) == ["format", "generatedBy", "convertedBy", "modelTopology", "trainingConfig", "weightsManifest"]
