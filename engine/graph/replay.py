"""When model calls replay: the first call with given input shapes runs the executor (compiling
programs, uploading weights; compiling them ahead in parallel first where the backend can, unless
warmup() did: engine/graph/warmup.py), the second records its draws on backends that can (WebGL),
later ones replay the recording (engine/webgl/replay.py). A replay whose guard fails (a host step's
output took another shape, a value read on the CPU another value: engine/webgl/host_steps.py) hands
its call to the executor, recording again; a plan is recorded again only then. Calls whose guards
fail MAX_MISSES_IN_A_ROW times in a row (control flow that depends on the inputs' values) stop
replaying: each miss costs a recording on top of the executor. A model keeps TFGL_REPLAY_PLANS plans
per thread (default 8), the least recently replayed going first: each holds every texture its call
draws into, and calls with ever new shapes would pile them up (the shapes it remembers without a
plan stay under 4x as many). TFGL_REPLAY=0 turns replays off."""
from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Mapping, Sequence

from engine.graph.plan import TensorKey
from engine.graph.warmup import compile_ahead, compiles_ahead_on_first_call
from engine.settings import whole_number
from engine.tensors import Tensor
from engine.webgl.host_steps import ReplayMiss

log = logging.getLogger("tfgl.replay")
MAX_MISSES_IN_A_ROW = 3
PLANS_VARIABLE = "TFGL_REPLAY_PLANS"
DEFAULT_PLANS = 8
# a call's state before it has a recording: compiled ahead by warmup(), run once
_WARMED, _SEEN = "warmed", "seen"


class _Unreplayable(str):
    """A call that never replays, and why (what voided its recording)."""


def replay_enabled() -> bool:
    return os.environ.get("TFGL_REPLAY", "1") not in ("", "0")


def plans_kept() -> int:
    return whole_number(PLANS_VARIABLE, DEFAULT_PLANS, minimum=1)


class Replays:
    """One model's recorded plans, per backend (so per thread) and per feed shapes and fetches."""

    def __init__(self):
        self._by_backend: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.last = None  # the Replay the latest replayed call used (benchmarks read its timings)
        self.paused = False  # benchmarks time the executor path with replays paused
        self.void_reason: str | None = None  # why the latest call that tried to record cannot replay
        self.recordings = 0   # plans recorded, first ones and those recorded again after a guard failed
        self._misses: dict[tuple, int] = {}  # calls in a row whose guards failed, per backend and key

    def run(self, executor, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey], backend) -> list[Tensor]:
        if getattr(backend, "record", None) is None or not replay_enabled() or backend.profile is not None or \
                self.paused:
            return executor.run(feeds, fetches, backend)
        entries, key = self._entries(backend), executor.workload(feeds, fetches)
        entry = entries.get(key)
        if entry is None or entry == _WARMED or isinstance(entry, _Unreplayable):
            if entry is None and compiles_ahead_on_first_call(backend):
                compile_ahead(backend, lambda on_gpu: executor.run(on_gpu, fetches, backend), feeds, first_call=True)
            entries[key] = entry if isinstance(entry, _Unreplayable) else _SEEN
            if entry is None:
                self._forget_misses(backend, _keep_bounded(entries, plans_kept()))
            # Feeds go to the GPU as a recording takes them, so every call compiles the same programs.
            return executor.run(backend.feeds_on_gpu(feeds), fetches, backend)
        if entry == _SEEN:
            return self._record(entries, key, executor, feeds, fetches, backend)
        try:
            arrays = entry.run({k: t.numpy() for k, t in feeds.items()})
        except ReplayMiss as miss:
            entry.discard()
            misses = self._misses[id(backend), key] = self._misses.get((id(backend), key), 0) + 1
            if misses < MAX_MISSES_IN_A_ROW:
                log.info("recording again: %s", miss)
                return self._record(entries, key, executor, feeds, fetches, backend)
            entries[key] = self.void_reason = _Unreplayable(f"its guards failed {misses} calls in a row ({miss})")
            log.info("not replaying: %s", self.void_reason)
            return executor.run(backend.feeds_on_gpu(feeds), fetches, backend)
        self._misses.pop((id(backend), key), None)
        entries[key] = entries.pop(key)  # the most recently replayed, last to go
        self.last = entry
        return [Tensor(a, slot.dtype) for a, slot in zip(arrays, entry.outputs)]

    def _record(self, entries: dict, key: tuple, executor, feeds, fetches, backend) -> list[Tensor]:
        entries[key] = _SEEN  # until the recording succeeds (a call that raises records on the next)
        results, plan = backend.record(lambda on_gpu: executor.run(on_gpu, fetches, backend), feeds)
        self.recordings += 1
        entries.pop(key, None)  # so that it goes in last, the most recently used
        entries[key] = _Unreplayable(plan) if isinstance(plan, str) else plan
        self.void_reason = plan if isinstance(plan, str) else None
        if not isinstance(plan, str):
            self._forget_misses(backend, _keep_bounded(entries, plans_kept()))
        return results

    def warmed(self, executor, feeds: Mapping[TensorKey, Tensor], fetches: Sequence[TensorKey], backend) -> None:
        """Notes that warmup() compiled these calls' programs: their first call need not compile ahead."""
        self._entries(backend).setdefault(executor.workload(feeds, fetches), _WARMED)

    def _entries(self, backend) -> dict:
        with self._lock:
            entries = self._by_backend.get(backend)
            if entries is None:
                entries = self._by_backend[backend] = {}
                backend.when_closed(weakref.WeakMethod(self._forget))
            return entries

    def _forget_misses(self, backend, keys: list) -> None:
        for key in keys:
            self._misses.pop((id(backend), key), None)

    def _forget(self, backend) -> None:
        """A closed backend's plans: its context took their textures (the plans hold the backend)."""
        with self._lock:
            self._by_backend.pop(backend, None)
            self._misses = {key: n for key, n in self._misses.items() if key[0] != id(backend)}
            if self.last is not None and self.last.backend is backend:
                self.last = None

    def clear(self) -> None:
        with self._lock:
            for entries in self._by_backend.values():
                for entry in entries.values():
                    if hasattr(entry, "discard"):
                        entry.discard()
            self._by_backend.clear()
            self._misses.clear()


def _keep_bounded(entries: dict, kept: int) -> list:
    """Discards the plans past the `kept` most recently replayed (entries are in that order; their
    calls record again when they come back), and forgets the oldest shapes past 4 x `kept` that have
    no plan, those merely seen before those found unreplayable or warmed up. Returns the keys forgotten."""
    plans = [key for key, entry in entries.items() if not isinstance(entry, str)]
    for key in plans[:max(0, len(plans) - kept)]:
        entries[key].discard()
        entries[key] = _SEEN
    planless = sorted((key for key, entry in entries.items() if isinstance(entry, str)),
                      key=lambda key: entries[key] != _SEEN)  # stable: oldest first within each kind
    forgotten = planless[:max(0, len(entries) - 4 * kept)]
    for key in forgotten:
        del entries[key]
    return forgotten
