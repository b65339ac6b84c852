"""Text models with their tokenizer in the graph: the official converter's `text_vocab` fixture (a
hash-table vocabulary filled by the model's initializer graph, StringSplit, lookups, hashed
out-of-vocabulary buckets, a SparseSegmentMean embedding bag, n-grams made dense) matches TensorFlow
on every backend from string inputs, through `predict` and `tfgl run`; tables are made once per
model; TF1-style initializers (tables shared by node name) work too; TF-DF models are refused."""
import json

import numpy as np
import pytest

import engine
from engine.cli import main
from engine.errors import ModelFormatError, UnsupportedOpsError
from engine.graph.model import GraphModel
from engine.io import load_model_json, parse_model_json
from engine.kernels.cpu.hash_table import HashTable
from tests.conftest import fixture_path
from tests.fixtures import sources

pytestmark = pytest.mark.tf

FIXTURE = fixture_path("text_vocab")


@pytest.fixture(scope="module")
def reference(saved_models):
    return sources.tensorflow_outputs(saved_models("text"), sources.inputs_for("text"))


def assert_outputs(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    np.testing.assert_array_equal(got["bigrams"], want["bigrams"])
    np.testing.assert_allclose(got["bag"], want["bag"], rtol=1e-6, atol=1e-6)


def test_text_model_matches_tensorflow(backend, reference, no_string_uploads):
    model = engine.load_graph_model(FIXTURE, backend=backend)
    assert [(i.name, i.dtype) for i in model.inputs] == [("text", "string")]  # the table is no input
    texts = sources.inputs_for("text")["text"]
    assert_outputs(model.predict(texts), reference)
    assert_outputs(model.predict(np.array([t.decode() for t in texts])), reference)  # str works as bytes
    assert_outputs(model.predict(texts), reference)  # a second call: the table is still there


@pytest.mark.parametrize("texts", [[""], ["", "  ,  "], ["one"]], ids=str)
def test_texts_with_no_words_after_a_warmup(backend, saved_models, texts):
    """A batch with no token at all: empty sparse tensors, a reshape of nothing to [-1, 0]."""
    batch = np.array([t.encode() for t in texts], dtype=object)
    model = engine.load_graph_model(FIXTURE, backend=backend)
    model.warmup()
    assert_outputs(model.predict(batch), sources.tensorflow_outputs(saved_models("text"), {"text": batch}))


def test_the_initializer_runs_once_per_model(monkeypatch):
    calls = []
    initialize = HashTable.initialize
    monkeypatch.setattr(HashTable, "initialize", lambda self, *a: calls.append(self) or initialize(self, *a))
    first = engine.load_graph_model(FIXTURE, backend="cpu")
    second = engine.load_graph_model(FIXTURE, backend="cpu")
    assert len(calls) == 2 and calls[0] is not calls[1]  # one table per model
    [table] = first.resources.tables.values()
    assert table.initialized and len(table.entries) == len(sources.TEXT_VOCABULARY)
    first.predict(sources.inputs_for("text")["text"])
    second.predict(sources.inputs_for("text")["text"][:1])
    assert len(calls) == 2


def test_tfgl_run_takes_strings_from_json_and_npy(tmp_path, reference, backend):
    texts = [t.decode() for t in sources.inputs_for("text")["text"]]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    np.save(tmp_path / "texts.npy", np.array(texts))
    for source in ("texts.json", "texts.npy"):
        out = tmp_path / f"{source}.npz"
        assert main(["run", FIXTURE, "--backend", backend, "--input", f"text={tmp_path / source}",
                     "--output", str(out)]) == 0
        with np.load(out) as saved:
            assert_outputs(dict(saved), reference)


def tf1_table_model(backend: str) -> tuple[GraphModel, dict]:
    """A TF1 graph as the official converter writes it: the main graph and the table initializer's
    subgraph (no initializerSignature) each hold the HashTableV2 node, found by its name."""
    import tensorflow as tf
    from google.protobuf.json_format import MessageToDict
    graph = tf.Graph()
    with graph.as_default():
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(["a", "b", "é"], np.array([1.5, 2.5, 3.5], np.float32)), -1.0)
        found = tf.identity(table.lookup(words), name="found")
        size = tf.identity(table.size(), name="size")
        init = tf.compat.v1.tables_initializer(name="init_tables")
        feeds = np.array([b"b", b"x", "é".encode(), b""], dtype=object)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(init)
            want = dict(zip(("found", "size"), session.run([found, size], {words: feeds})))
    graph_def = graph.as_graph_def()
    main_graph = tf.compat.v1.graph_util.extract_sub_graph(graph_def, ["found", "size"])
    initializer = tf.compat.v1.graph_util.extract_sub_graph(graph_def, ["init_tables"])
    data = {"format": "graph-model", "modelTopology": MessageToDict(main_graph), "weightsManifest": [],
            "modelInitializer": MessageToDict(initializer),
            "signature": {"inputs": {"words": {"name": "words:0", "dtype": "DT_STRING"}},
                          "outputs": {"found": {"name": "found:0"}, "size": {"name": "size:0"}}}}
    return GraphModel(parse_model_json(data, "."), {}, backend), {"feeds": feeds, **want}


def test_tf1_tables_are_shared_with_the_initializer_by_name(backend):
    model, want = tf1_table_model(backend)
    got = model.predict(want["feeds"])
    np.testing.assert_array_equal(got["found"], want["found"])
    assert got["size"] == want["size"] == 3


@pytest.mark.parametrize("resource_id, says", [(999, "resource 999, which the model's initializer does not make"),
                                               ("999", "resource 999, which"), (True, "malformed name or resourceId"),
                                               ("x", "malformed name or resourceId")])
def test_a_resource_input_the_initializer_does_not_make_is_refused(resource_id, says):
    artifacts = load_model_json(FIXTURE)
    artifacts.signature["inputs"]["unknown:0"]["resourceId"] = resource_id
    with pytest.raises(ModelFormatError, match=says):
        GraphModel(artifacts, {}, "cpu")


def test_a_resource_input_with_no_resource_id_is_refused():
    artifacts = load_model_json(FIXTURE)
    del artifacts.signature["inputs"]["unknown:0"]["resourceId"]
    with pytest.raises(ModelFormatError, match="'unknown:0' is a resource .* with no resourceId"):
        GraphModel(artifacts, {}, "cpu")


@pytest.mark.converter
def test_tfgl_convert_refuses_captured_tables_naming_the_official_converter(saved_models, tmp_path):
    from converter.api import convert
    from engine.errors import ConversionError
    with pytest.raises(ConversionError, match="hash tables: .* the official tensorflowjs_converter writes it"):
        convert(saved_models("text"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_tfdf_models_are_refused_naming_tfdf():
    nodes = [{"name": "handle", "op": "SimpleMLCreateModelResource"},
             {"name": "load", "op": "SimpleMLLoadModelFromPathWithHandle", "input": ["handle"]}]
    data = {"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": [],
            "modelInitializer": {"node": [{"name": "init", "op": "SimpleMLInferenceOpWithHandle"}]}}
    with pytest.raises(UnsupportedOpsError, match="TensorFlow Decision Forests \\(TF-DF\\)") as error:
        GraphModel(parse_model_json(data, "."), {}, "cpu")
    assert set(error.value.missing) == {"SimpleMLCreateModelResource", "SimpleMLLoadModelFromPathWithHandle",
                                        "SimpleMLInferenceOpWithHandle"}
