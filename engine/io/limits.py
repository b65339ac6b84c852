"""Resource limits checked before anything is allocated from a model's description."""
from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence

from engine.errors import ResourceLimitError

_DEFAULT_MAX_TENSOR_BYTES = 2 * 1024 ** 3
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def _bytes_from_env(name: str, default: int) -> int:
    """An environment variable holding a byte count: 1073741824, 512M, 2G (powers of 1024)."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)i?b?\s*", text, re.IGNORECASE)
    if match is None:
        warnings.warn(f"{name}={text!r} is not a byte count (e.g. 2147483648 or 2G); using {default}", stacklevel=2)
        return default
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _seconds_from_env(name: str, default: float) -> float:
    """An environment variable holding a positive number of seconds (2, 0.5)."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        warnings.warn(f"{name}={text!r} is not a positive number of seconds; using {default}", stacklevel=2)
        return default
    return seconds


class Limits:
    """Resource limits checked before allocating or looping. Override per process, e.g.
    Limits.max_tensor_bytes = 4 << 30, or with the environment variables TFGL_MAX_TENSOR_BYTES (a byte
    count, or with a K/M/G suffix), TFGL_MAX_LOOP_ITERATIONS, TFGL_MAX_MODEL_JSON_BYTES and
    TFGL_HTTP_DEADLINE_S."""

    max_tensor_bytes = _bytes_from_env("TFGL_MAX_TENSOR_BYTES", _DEFAULT_MAX_TENSOR_BYTES)
    # A loop (v1 frame or v2 While) running longer is stopped with a GraphError: a corrupted or
    # hostile loop condition must not hang the process (TFGL_MAX_LOOP_ITERATIONS).
    max_loop_iterations = _bytes_from_env("TFGL_MAX_LOOP_ITERATIONS", 10_000_000)
    # model.json is parsed whole, into many times its size in Python objects: a bound far above any
    # real model's (their weights live in shards) keeps an endless or huge one from exhausting memory.
    max_model_json_bytes = _bytes_from_env("TFGL_MAX_MODEL_JSON_BYTES", 256 * 1024 ** 2)
    # The wall-clock time one file (model.json or a shard) may take over http(s), redirects included:
    # a server sending slowly, however steadily, cannot hold the loader longer.
    http_deadline_s = _seconds_from_env("TFGL_HTTP_DEADLINE_S", 300.0)


MAX_DIM = 2 ** 31 - 1  # TF.js's (and WebGL's) int32 sizes


def check_tensor_size(what: str, shape: Sequence[int], itemsize: int) -> None:
    """Refuses (ResourceLimitError) a tensor of `shape` whose values would take more than
    Limits.max_tensor_bytes, or with a dimension beyond int32 (even an empty one: numpy cannot
    shape it); `what` names it in the message ("weight 'x'", "tensor")."""
    if any(d > MAX_DIM for d in shape):
        raise ResourceLimitError(f"{what} of shape {list(shape)} has a dimension above {MAX_DIM}")
    nbytes = math.prod(shape) * itemsize
    if nbytes > Limits.max_tensor_bytes:
        raise ResourceLimitError(
            f"{what} of shape {list(shape)} needs {nbytes} bytes, over the limit of "
            f"{Limits.max_tensor_bytes} (engine.io.Limits.max_tensor_bytes, TFGL_MAX_TENSOR_BYTES)")
