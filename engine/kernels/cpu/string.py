"""String ops (op_list/string.json), as TensorFlow: the tokenizers text models carry in their graphs.

Strings are bytes (object arrays of `bytes`); splitting and n-grams work on bytes, as TensorFlow's
do; StaticRegexReplace matches UTF-8 characters, as RE2 does. On the WebGL backend these run on the
CPU and their string tensors never reach a texture.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from engine.kernels.cpu import re2_syntax
from engine.kernels.cpu.farmhash import fingerprint64
from engine.kernels.registry import KernelTable
from engine.kernels.resolve.values import checked_size

KERNELS = KernelTable()

INT32_MAX = 2**31 - 1


def as_bytes(value: str | bytes) -> bytes:
    """A string attr (decoded from model.json as str where it is valid UTF-8) as bytes."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def strings(values: Sequence[bytes], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An object array of bytes (np.array would make a fixed-width bytes array, or split lists)."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out if shape is None else out.reshape(shape)


def _check_string(array: np.ndarray, what: str) -> None:
    if array.dtype != object:
        raise ValueError(f"{what} must be a string tensor, got {array.dtype}")


# -- StringSplit --------------------------------------------------------------------------------

def _split(text: bytes, delimiters: bytes, skip_empty: bool) -> list[bytes]:
    """Tokens of `text` between any of the delimiter bytes; single bytes for an empty delimiter."""
    if not text:
        return []
    if not delimiters:
        return [text[i:i + 1] for i in range(len(text))]
    tokens = re.split(b"[" + re.escape(delimiters) + b"]", text)
    return [t for t in tokens if t] if skip_empty else tokens


@KERNELS.define("StringSplit")
def string_split(input, delimiter, *, skip_empty: bool = True):
    """A sparse [batch, longest row] tensor of tokens: indices (int64), values and dense shape."""
    _check_string(input, "input")
    if input.ndim != 1:
        raise ValueError(f"input must be a vector, got shape: {list(input.shape)}")
    if delimiter.ndim != 0:
        raise ValueError(f"delimiter must be a scalar, got shape: {list(delimiter.shape)}")
    rows = [_split(text, delimiter[()], skip_empty) for text in input]
    indices = np.array([(row, column) for row, tokens in enumerate(rows) for column in range(len(tokens))],
                       np.int64).reshape(-1, 2)
    longest = max((len(tokens) for tokens in rows), default=0)
    return indices, strings([t for tokens in rows for t in tokens]), np.array([len(rows), longest], np.int64)


# -- StringNGrams -------------------------------------------------------------------------------

class _NGrams:
    """TensorFlow's n-grams of one ragged row: padded on both sides by up to width - 1 pads (or a
    fixed pad_width), tokens and pads joined by the separator."""

    def __init__(self, separator: bytes, left_pad: bytes, right_pad: bytes, pad_width: int):
        self.separator, self.left_pad, self.right_pad, self.pad_width = separator, left_pad, right_pad, pad_width

    def padding(self, width: int) -> int:
        return min(width - 1 if self.pad_width < 0 else self.pad_width, width - 1)

    def count(self, length: int, width: int) -> int:
        return max(0, length + 2 * self.padding(width) - width + 1)

    def make(self, tokens: Sequence[bytes], width: int, count: int, padding: int) -> list[bytes]:
        grams = []
        for index in range(count):
            left = max(0, padding - index)
            right = max(0, padding - (count - index - 1))
            first = 0 if left > 0 else index - padding
            parts = [self.left_pad] * left + list(tokens[first:first + width - left - right]) + [self.right_pad] * right
            grams.append(self.separator.join(parts))
        return grams


def _check_splits(splits: np.ndarray, size: int) -> None:
    if splits.size == 0:
        return
    if splits[0] != 0:
        raise ValueError(f"First split value must be 0, got {splits[0]}")
    for previous, split in zip(splits[:-1], splits[1:]):
        if not previous <= split <= size:
            raise ValueError(f"Invalid split value {split}, must be in [{previous}, {size}]")
    if splits[-1] != size:
        raise ValueError(f"Last split value must be data size. Expected {size}, got {splits[-1]}")


@KERNELS.define("StringNGrams")
def string_n_grams(data, data_splits, *, separator, ngram_widths, left_pad, right_pad, pad_width: int,
                   preserve_short_sequences: bool):
    """The n-grams of each row of the ragged tensor (data, data_splits), every width in turn, as a
    ragged tensor; with preserve_short_sequences, a non-empty row too short for any n-gram gives one
    n-gram of all its tokens."""
    _check_string(data, "data")
    if data.ndim != 1 or data_splits.ndim != 1:
        raise ValueError(f"data and data_splits must be vectors, got shapes {list(data.shape)} and "
                         f"{list(data_splits.shape)}")
    widths = [int(w) for w in ngram_widths]
    if any(w < 1 for w in widths):
        raise ValueError(f"ngram_widths must contain positive values, got {widths}")
    splits = data_splits.astype(np.int64)
    _check_splits(splits, data.size)
    if data.size == 0 or splits.size == 0:  # TensorFlow's shortcut: no rows have n-grams, even padded ones
        return strings([b""] * data.size), np.zeros(splits.size, data_splits.dtype)
    grams = _NGrams(as_bytes(separator), as_bytes(left_pad), as_bytes(right_pad), int(pad_width))
    counts = [sum(grams.count(int(end - start), w) for w in widths) for start, end in zip(splits[:-1], splits[1:])]
    checked_size("the n-grams", (sum(counts),))
    rows = []
    for start, end in zip(splits[:-1], splits[1:]):
        tokens, length = data[start:end], int(end - start)
        row = [g for w in widths for g in grams.make(tokens, w, grams.count(length, w), grams.padding(w))]
        if preserve_short_sequences and not row and length > 0:
            padding = max(int(pad_width), 0)
            row = grams.make(tokens, length + 2 * padding, 1, padding)
        rows.append(row)
    out_splits = np.zeros(splits.size, np.int64)
    np.cumsum([len(r) for r in rows], out=out_splits[1:])
    return strings([g for row in rows for g in row]), out_splits.astype(data_splits.dtype)


# -- hashing and regular expressions ------------------------------------------------------------

@KERNELS.define("StringToHashBucketFast")
def string_to_hash_bucket_fast(input, *, num_buckets: int):
    """FarmHash Fingerprint64 of each string modulo num_buckets (int64)."""
    _check_string(input, "input")
    if not 1 <= num_buckets <= INT32_MAX:
        raise ValueError(f"num_buckets must be in [1, {INT32_MAX}] (int64 is stored as int32), got {num_buckets}")
    flat = [fingerprint64(text) % num_buckets for text in input.reshape(-1)]
    return np.array(flat, np.int64).reshape(input.shape)


@KERNELS.define("StaticRegexReplace")
def static_regex_replace(input, *, pattern, rewrite, replace_global: bool = True):
    """Each string with the first (or every) match of the RE2 `pattern` replaced by `rewrite`."""
    _check_string(input, "input")
    compiled = re2_syntax.compile_pattern(as_bytes(pattern).decode("utf-8", "surrogateescape"))
    rewrite_match = re2_syntax.rewriter(as_bytes(rewrite).decode("utf-8", "surrogateescape"), compiled.groups)
    if rewrite_match is None:
        return input.copy()
    out = [re2_syntax.replace(compiled, rewrite_match, text.decode("utf-8", "surrogateescape"),
                              replace_global).encode("utf-8", "surrogateescape")
           for text in input.reshape(-1)]
    return strings(out, input.shape)
