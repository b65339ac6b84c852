"""String ops against tf.raw_ops: StringSplit, StringNGrams, StringToHashBucketFast (and the
Fingerprint64 under it, against tf.raw_ops.Fingerprint) and StaticRegexReplace, with empty and
unicode strings; on webgl they run on the CPU and no string reaches a texture."""
import numpy as np
import pytest

import engine
from engine.kernels.cpu.farmhash import fingerprint64
from tests.kernels.harness import assert_rejects, check, run_engine, tf

pytestmark = pytest.mark.tf


def strings(*texts) -> np.ndarray:
    out = np.empty(len(texts), dtype=object)
    out[:] = [t.encode() if isinstance(t, str) else t for t in texts]
    return out


TEXTS = strings("hello world", "", " a  b ", "café, 日本語", "one", "\x00x\x00", b"\xff\xfe bad utf-8")


@pytest.mark.parametrize("delimiter", [" ", ", ", "", "é"])
@pytest.mark.parametrize("skip_empty", [True, False])
def test_string_split(backend, no_string_uploads, delimiter, skip_empty):
    """Any byte of the delimiter splits (a multi-byte UTF-8 delimiter splits at each of its bytes);
    an empty delimiter splits into single bytes; an empty string has no tokens."""
    check(backend, "StringSplit", [TEXTS, np.array(delimiter.encode(), dtype=object)], {"skip_empty": skip_empty})


def test_string_split_of_nothing(backend):
    check(backend, "StringSplit", [strings(), np.array(b" ", dtype=object)], {"skip_empty": True})
    check(backend, "StringSplit", [strings("", ""), np.array(b" ", dtype=object)], {"skip_empty": False})


def test_string_split_rejects_what_tensorflow_rejects(backend):
    assert_rejects(backend, "StringSplit", [strings("a b").reshape(1, 1), np.array(b" ", dtype=object)],
                   match="input must be a vector")
    assert_rejects(backend, "StringSplit", [strings("a b"), strings(" ")], match="delimiter must be a scalar")


NGRAM_DATA = strings("a", "b", "c", "d", "é", "日本", "", "f")
NGRAM_SPLITS = [0, 0, 1, 3, 7, 8]  # an empty row, a short row, rows of 2, 4 and 1 tokens


@pytest.mark.parametrize("widths", [[1], [2], [2, 3], [5]], ids=str)
@pytest.mark.parametrize("pad_width", [-1, 0, 1, 3])
@pytest.mark.parametrize("preserve_short_sequences", [False, True])
def test_string_n_grams(backend, no_string_uploads, widths, pad_width, preserve_short_sequences):
    attrs = {"separator": "·", "ngram_widths": widths, "left_pad": "<s>", "right_pad": "", "pad_width": pad_width,
             "preserve_short_sequences": preserve_short_sequences}
    check(backend, "StringNGrams", [NGRAM_DATA, np.array(NGRAM_SPLITS, np.int64)], attrs)


@pytest.mark.parametrize("splits", [[0, 0], [], [0]], ids=str)
def test_string_n_grams_of_empty_input(backend, splits):
    """No data: empty rows, no n-grams (even with padding); no splits: no rows."""
    attrs = {"separator": " ", "ngram_widths": [2], "left_pad": "L", "right_pad": "R", "pad_width": -1,
             "preserve_short_sequences": True}
    check(backend, "StringNGrams", [strings(), np.array(splits, np.int32)], attrs)


@pytest.mark.parametrize("splits, says", [
    ([1, 2], "First split value must be 0, got 1"),
    ([0, 3, 2], r"Invalid split value 3, must be in \[0, 2\]"),
    ([0, 1], "Last split value must be data size. Expected 2, got 1"),
])
def test_string_n_grams_rejects_bad_splits(backend, splits, says):
    attrs = {"separator": " ", "ngram_widths": [2], "left_pad": "", "right_pad": "", "pad_width": 0,
             "preserve_short_sequences": False}
    with pytest.raises(tf().errors.InvalidArgumentError, match=says):
        tf().raw_ops.StringNGrams(data=strings("a", "b"), data_splits=np.array(splits, np.int64), **attrs)
    assert_rejects(backend, "StringNGrams", [strings("a", "b"), np.array(splits, np.int64)], attrs, match=says)


def test_string_n_grams_rejects_widths_below_one(backend):
    attrs = {"separator": " ", "ngram_widths": [2, 0], "left_pad": "", "right_pad": "", "pad_width": 0,
             "preserve_short_sequences": False}
    assert_rejects(backend, "StringNGrams", [strings("a", "b"), np.array([0, 2], np.int64)], attrs,
                   match="ngram_widths must contain positive values")


def test_fingerprint64_is_tensorflows_bit_for_bit(rng):
    """Every length branch of FarmHash (0-16, 17-32, 33-64 bytes, the 64-byte loop and its tail)."""
    lengths = list(range(0, 140)) + [191, 192, 193, 255, 256, 1000, 4097]
    data = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in lengths] + ["日本語のテキスト".encode()]
    want = tf().raw_ops.Fingerprint(data=tf().constant(data), method="farmhash64").numpy()
    assert [fingerprint64(d) for d in data] == [int(v) for v in want.view(np.uint64).reshape(-1)]


@pytest.mark.parametrize("num_buckets", [1, 7, 1000, 2**31 - 1])
def test_string_to_hash_bucket_fast(backend, no_string_uploads, rng, num_buckets):
    long_texts = [bytes(rng.integers(32, 127, n, dtype=np.uint8)) for n in (17, 40, 65, 300)]
    texts = np.concatenate([TEXTS, strings(*long_texts)]).reshape(-1)
    check(backend, "StringToHashBucketFast", [texts], {"num_buckets": num_buckets})
    check(backend, "StringToHashBucketFast", [texts[:10].reshape(2, 5)], {"num_buckets": num_buckets})


def test_string_to_hash_bucket_fast_refuses_buckets_int32_cannot_hold(backend):
    assert_rejects(backend, "StringToHashBucketFast", [strings("a")], {"num_buckets": 2**31}, match="num_buckets")


REGEX_TEXTS = strings("Hello, World! 42", "", "aaa bbb", "café Café CAFÉ", "tab\there\nnew\n", "x1y22z333",
                      "日本語 text", "[brackets] (parens) {braces}", "a.b*c+d?", "__init__")
REGEX_CASES = [
    (r"[[:punct:]]+", ""), (r"\s+", " "), (r"\d+", "#"), (r"(\w+) (\w+)", r"\2 \1"), (r"^", ">"),
    (r"$", "<"), (r"\n$", "!"), ("a*", "-"), ("x*", "-"), (r"\bc", "C"), (r"\Bb", "B"), ("é", "e"), (".", "."),
    ("(?i)café", "coffee"), (r"[^a-z]", ""), (r"\W", "_"), (r"\D+", ""), (r"(a)(b)?", r"[\1\2]"), (r"\\", "/"),
    (r"\x{65E5}\x{672C}", "JP"), (r"\Qa.b*c\E", "lit"), (r"[\d\s]", ""), (r"[[:upper:]][[:lower:]]+", r"\0\0"),
    (r"\{.*?\}", "{}"), ("{", "<"), (r"a{2,}", "A"), (r"(?s)w.*", ""), (r"(?m)^t", "T"), (r"\A\w", "^"),
    (r"\w\z", "$"), (r"(?P<word>[a-z]+)", r"<\1>"), (r"\141", "A"), (r"[\x{E9}e]", "E"), (r"\pL", "L"),
]


@pytest.mark.parametrize("pattern, rewrite", REGEX_CASES)
@pytest.mark.parametrize("replace_global", [True, False])
def test_static_regex_replace(backend, no_string_uploads, pattern, rewrite, replace_global):
    """RE2 semantics: ASCII-only Perl classes and word boundaries, `$` only at the very end, empty
    matches never right after a match, UTF-8 characters as units."""
    attrs = {"pattern": pattern, "rewrite": rewrite, "replace_global": replace_global}
    if pattern == r"\pL":  # RE2 has Unicode classes; they are refused, not mistranslated
        assert_rejects(backend, "StaticRegexReplace", [REGEX_TEXTS], attrs, match=r"Unicode classes \(\\p\)")
        return
    check(backend, "StaticRegexReplace", [REGEX_TEXTS], attrs)


@pytest.mark.parametrize("pattern", ["a", ".", "[^a]", r"\W", "x*"])
def test_static_regex_replace_keeps_shape_and_bad_utf8(backend, pattern):
    """Bytes that are not UTF-8 match nothing but pass through."""
    texts = strings("ab", b"\xff\xfeab", b"\xe6\x97", "ba").reshape(2, 2)
    check(backend, "StaticRegexReplace", [texts], {"pattern": pattern, "rewrite": r"<\0>", "replace_global": True})
    check(backend, "StaticRegexReplace", [strings("x").reshape(())], {"pattern": "x", "rewrite": "y"})


@pytest.mark.parametrize("pattern, rewrite, says", [
    (r"(a)\1", "", "backreferences"),           # RE2 has none: TensorFlow refuses too
    (r"a(?=b)", "", "lookaround"),
    (r"a(?<!b)", "", "lookaround"),
    (r"a++", "", "possessive"),
    (r"\Z", "", "invalid escape"),
    (r"a{1001}", "", "bad repetition"),
])
def test_static_regex_replace_refuses_what_re2_refuses(backend, pattern, rewrite, says):
    attrs = {"pattern": pattern, "rewrite": rewrite, "replace_global": True}
    with pytest.raises(tf().errors.InvalidArgumentError):
        tf().raw_ops.StaticRegexReplace(input=strings("ab"), **attrs)
    assert_rejects(backend, "StaticRegexReplace", [strings("ab")], attrs, match=says)


@pytest.mark.parametrize("rewrite", [r"\2", r"<\x>", "x\\", r"[\0\1]"])
def test_static_regex_replace_with_a_bad_rewrite_does_as_re2(backend, rewrite):
    """RE2 logs a bad rewrite and goes on: a missing group replaces nothing, another escape cuts the
    rewrite short there."""
    check(backend, "StaticRegexReplace", [REGEX_TEXTS], {"pattern": "(a)", "rewrite": rewrite})
    check(backend, "StaticRegexReplace", [REGEX_TEXTS], {"pattern": "a", "rewrite": rewrite})


@pytest.mark.parametrize("pattern, says", [(r"(?U)a+", r"\(\?U\)"), (r"\C", r"\\C"), ("[[:^alpha:]]", "not supported")])
def test_static_regex_replace_refuses_what_re_cannot_mean(backend, pattern, says):
    """Valid RE2 that Python's re cannot express with RE2's meaning: refused, naming the construct."""
    tf().raw_ops.StaticRegexReplace(input=strings("ab"), pattern=pattern, rewrite="")  # RE2 takes it
    assert_rejects(backend, "StaticRegexReplace", [strings("ab")], {"pattern": pattern, "rewrite": ""}, match=says)


def test_string_ops_on_webgl_run_on_the_cpu_without_uploading(webgl, no_string_uploads):
    gl = engine.get_backend("webgl")
    before = gl.stats.uploads
    run_engine(webgl, "StringSplit", [TEXTS, np.array(b" ", dtype=object)], {"skip_empty": True})
    run_engine(webgl, "StaticRegexReplace", [TEXTS], {"pattern": "a", "rewrite": "b"})
    assert gl.stats.uploads == before
    assert gl.stats.cpu_fallbacks.get("StringSplit", 0) > 0
