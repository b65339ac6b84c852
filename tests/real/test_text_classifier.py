"""A text classifier against TF.js itself: the official converter's `text_classifier` fixture (a TF
Hub-style sentence classifier, tokenizer in the graph: StaticRegexReplace, StringSplit, two hash
tables filled by the model's initializer, one string -> int64 vocabulary and one int64 -> string label
table, SparseFillEmptyRows, SparseSegmentMean/Sum bags, StringNGrams, UpperBound) runs in TF.js 4.22,
which the published Guesslang model does not (tests/real/catalog.py), and covers the table lookups
Guesslang lacks. tfgl matches TF.js and TensorFlow on every backend, string tensors never uploaded."""
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.errors import KernelError
from tests.conftest import fixture_path
from tests.fixtures import sources
from tests.real.reference import tfjs_outputs

pytestmark = [pytest.mark.node, pytest.mark.tf]

FIXTURE = fixture_path("text_classifier")
BATCHES = {
    "texts": sources.inputs_for("text_classifier")["text"],
    "mostly empty": np.array([b"", b"...", b"cat", b" ; "], dtype=object),
}


@pytest.mark.parametrize("batch", BATCHES, ids=str)
def test_text_classifier_matches_tfjs_and_tensorflow(batch, backend, saved_models, no_string_uploads):
    texts = BATCHES[batch]
    model = engine.load_graph_model(FIXTURE, backend=backend)
    assert [(i.name, i.dtype) for i in model.inputs] == [("text", "string")]  # the tables are no inputs
    got = model.predict(texts)
    names = {info.name: info.tensor for info in model.outputs}
    by_tfjs = tfjs_outputs(Path(FIXTURE), {"text": texts}, list(names.values()))
    by_tensorflow = sources.tensorflow_outputs(saved_models("text_classifier"), {"text": texts})
    for reference in ({key: by_tfjs[tensor] for key, tensor in names.items()}, by_tensorflow):
        np.testing.assert_array_equal(got["label"], reference["label"])
        np.testing.assert_allclose(got["probabilities"], reference["probabilities"], rtol=1e-5, atol=1e-6)
    if batch == "texts":
        assert set(got["label"]) == {label.encode() for label in sources.TEXT_LABELS}  # every label is picked


def test_a_batch_with_no_word_fails_as_in_tensorflow(backend, saved_models):
    """No word in the whole batch: StringNGrams makes no bigram at all (TensorFlow's rule, TF.js's
    too), the bigram bag has no row, and the head's AddV2 cannot broadcast, in TensorFlow as here."""
    import tensorflow as tf
    texts = np.array([b"", b"..."], dtype=object)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        sources.tensorflow_outputs(saved_models("text_classifier"), {"text": texts})
    with pytest.raises(KernelError, match=r"AddV2.*\(2,8\) \(0,8\)"):
        engine.load_graph_model(FIXTURE, backend=backend).predict(texts)
