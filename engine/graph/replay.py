"""When model calls replay: the first call with given input shapes runs the executor (compiling
programs, uploading weights; compiling them ahead in parallel first where the backend can, unless
warmup() did: engine/graph/warmup.py), the second records its draws on backends that can (WebGL),
later ones replay the recording (engine/webgl/replay.py). TFGL_REPLAY=0 turns replays off."""
from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping, Sequence

from engine.graph.plan import TensorKey
from engine.graph.warmup import compile_ahead, compiles_ahead_on_first_call
from engine.tensors import Tensor

# a call's state before it has a recording: compiled ahead by warmup(), run once, never recordable
_WARMED, _SEEN, _NEVER = "warmed", "seen", "never"


def replay_enabled() -> bool:
    return os.environ.get("TFGL_REPLAY", "1") not in ("", "0")


class Replays:
    """One model's recorded plans, per backend (so per thread) and per feed shapes and fetches."""

    def __init__(self):
        self._by_backend: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.last = None  # the Replay the latest replayed call used (benchmarks read its timings)
        self.paused = False  # benchmarks time the executor path with replays paused

    def run(self, executor, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey], backend) -> list[Tensor]:
        if getattr(backend, "record", None) is None or not replay_enabled() or backend.profile is not None or \
                self.paused:
            return executor.run(feeds, fetches, backend)
        entries, key = self._entries(backend), _key(executor, feeds, fetches)
        entry = entries.get(key)
        if entry in (None, _WARMED, _NEVER):
            if entry is None and compiles_ahead_on_first_call(backend):
                compile_ahead(backend, lambda on_gpu: executor.run(on_gpu, fetches, backend), feeds, run_on_zeros=False)
            entries[key] = entry if entry == _NEVER else _SEEN
            # Feeds go to the GPU as a recording takes them, so every call compiles the same programs.
            return executor.run(backend.feeds_on_gpu(feeds), fetches, backend)
        if entry == _SEEN:
            results, replay = backend.record(lambda on_gpu: executor.run(on_gpu, fetches, backend), feeds)
            entries[key] = replay if replay is not None else _NEVER
            return results
        arrays = entry.run({k: t.numpy() for k, t in feeds.items()})
        self.last = entry
        return [Tensor(a, slot.dtype) for a, slot in zip(arrays, entry.outputs)]

    def warmed(self, executor, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey], backend) -> None:
        """Notes that warmup() compiled these calls' programs: their first call need not compile ahead."""
        self._entries(backend).setdefault(_key(executor, feeds, fetches), _WARMED)

    def _entries(self, backend) -> dict:
        with self._lock:
            return self._by_backend.setdefault(backend, {})

    def clear(self) -> None:
        with self._lock:
            for entries in self._by_backend.values():
                for entry in entries.values():
                    if hasattr(entry, "discard"):
                        entry.discard()
            self._by_backend.clear()


def _key(executor, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey]) -> tuple:
    return id(executor), tuple(fetches), tuple((k, t.shape, t.dtype) for k, t in feeds.items())
