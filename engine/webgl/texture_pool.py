"""The textures of one GL context, recycled by (width, height, channels, dtype) instead of made per
tensor, and bounded: a backend keeps TFGL_TEXTURE_POOL_MB of free ones."""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping

import numpy as np

from engine.settings import whole_number
from engine.webgl.textures import NUMPY_OF_TEXTURE, padded_side

POOL_VARIABLE = "TFGL_TEXTURE_POOL_MB"
DEFAULT_POOL_MB = 512


def free_texture_limit(environ: Mapping[str, str] = os.environ) -> int:
    """Bytes of free textures a backend keeps for reuse: TFGL_TEXTURE_POOL_MB (default 512; 0 keeps
    none). The bench models free at most 70 MB a call, so their steady calls never evict."""
    return whole_number(POOL_VARIABLE, DEFAULT_POOL_MB, unit="megabytes", environ=environ) << 20


def texture_bytes(cols: int, rows: int, channels: int, dtype: str) -> int:
    return rows * cols * channels * np.dtype(NUMPY_OF_TEXTURE[dtype]).itemsize


class TextureManager:
    """Owns every texture of one GL context. `acquire` reuses a free texture of the same size and
    dtype. A texture's `extra` holds the (cols, rows) it was acquired for (write_texels, read_texels).
    A pool with a `lender` (a recording's, whose lender is the backend's pool) takes the lender's free
    textures before it makes new ones: those the call before it used and freed, already allocated and
    written (llvmpipe pays for both on a texture's first use).

    A pool with a `free_limit` (the backend's own) keeps at most that many bytes of free textures:
    calls with ever new shapes would otherwise leave textures of every size behind. The sizes freed
    into longest ago go first, into `evicted`, which the backend deletes at its next GL section
    (take_evicted): release() makes no GL call."""

    def __init__(self, ctx, lender: TextureManager | None = None, free_limit: int | None = None):
        self.ctx = ctx
        self.lender = lender
        self.free_limit = free_limit
        self.max_size = int(ctx.info["GL_MAX_TEXTURE_SIZE"])
        self.forward_to: TextureManager | None = None  # set once merged into another pool
        self.forgotten = False  # its context is gone: textures released or handed to it are dropped
        # free textures by key, the key freed into longest ago first; no key without one
        self._free: dict[tuple[int, int, int, str], list] = {}
        self.evicted: list = []
        self._lock = threading.RLock()
        self._busy = False   # a change under way on the thread holding the lock
        self._queued: list = []  # changes that came in during it (see _serially)
        self.in_use = 0
        self.bytes_in_use = 0
        self.bytes_free = 0
        self.created = 0

    def _serially(self, change, *args):
        """change(*args) with the lock held. A garbage collection during a change may finalize a tensor
        (or a plan) that releases into this pool on the same thread: that change waits in `_queued`
        until the one under way ends, so no change sees the pool half made."""
        with self._lock:
            if self._busy:
                self._queued.append((change, args))
                return None
            self._busy = True
            try:
                result = change(*args)
                while self._queued:
                    queued, queued_args = self._queued.pop(0)
                    queued(*queued_args)
                return result
            finally:
                self._busy = False

    def acquire(self, rows: int, cols: int, channels: int = 1, dtype: str = "f4"):
        key = (cols, rows, channels, dtype)
        nbytes = texture_bytes(cols, rows, channels, dtype)
        texture = self._serially(self._acquired, key, nbytes)
        if texture is None and self.lender is not None:
            texture = self.lender.lend(key, nbytes)
        return self._make(key) if texture is None else texture

    def _acquired(self, key: tuple[int, int, int, str], nbytes: int):
        self.in_use += 1
        self.bytes_in_use += nbytes
        return self._take(key, nbytes)

    def _make(self, key: tuple[int, int, int, str]):
        cols, rows, channels, dtype = key
        texture = self.ctx.texture(self.allocated_size(cols, rows), channels, dtype=dtype)  # read by texelFetch
        texture.extra = (cols, rows)
        self.created += 1
        return texture

    def reserve(self, counts: dict[tuple[int, int, int, str], int]) -> None:
        """Makes free textures until each (cols, rows, channels, dtype) key has `counts[key]`: those a
        warm-up found the first call will hold at once, made ahead so that the call allocates none
        (llvmpipe zero-fills a texture's memory when it makes it). Never past free_limit: they would
        only be evicted."""
        for key, count in counts.items():
            for _ in range(count - len(self._free.get(key, ()))):
                if self.free_limit is not None and self.bytes_free + texture_bytes(*key) > self.free_limit:
                    break
                self.adopt(self._make(key))

    def lend(self, key: tuple[int, int, int, str], nbytes: int):
        """A free texture of this key, no longer this pool's (None if there is none)."""
        return self._serially(self._take, key, nbytes)

    def _take(self, key: tuple[int, int, int, str], nbytes: int):
        free = self._free.get(key)
        if not free:
            return None
        texture = free.pop()
        if not free:
            del self._free[key]
        self.bytes_free -= nbytes
        return texture

    def _put(self, key: tuple[int, int, int, str], texture) -> None:
        """Into the free textures, its key now the one freed into last; then evicts the oldest past
        free_limit."""
        if self.forgotten:
            return
        free = self._free.pop(key, None) or []
        free.append(texture)
        self._free[key] = free
        self.bytes_free += texture_bytes(*key)
        self._evict_past_limit()

    def _evict_past_limit(self) -> None:
        if self.free_limit is None:
            return
        while self.bytes_free > self.free_limit and self._free:
            oldest = next(iter(self._free))
            free = self._free[oldest]
            self.evicted.append(free.pop(0))
            if not free:
                del self._free[oldest]
            self.bytes_free -= texture_bytes(*oldest)

    def take_evicted(self) -> list:
        """The textures eviction took out of the pool, for their owner to delete."""
        return self._serially(self._take_evicted)

    def _take_evicted(self) -> list:
        doomed, self.evicted = self.evicted, []
        return doomed

    def allocated_size(self, cols: int, rows: int) -> tuple[int, int]:
        return padded_side(cols, self.max_size), padded_side(rows, self.max_size)

    def release(self, texture) -> None:
        """Returns a texture to the pool. Makes no GL call, so any thread (or a finalizer) may call it."""
        self._serially(self._released, texture)

    def _released(self, texture) -> None:
        key = texture_key(texture)
        self.in_use -= 1
        self.bytes_in_use -= texture_bytes(*key)
        if self.forward_to is not None:
            self.forward_to.adopt(texture)
        else:
            self._put(key, texture)

    def adopt(self, texture) -> None:
        """Takes a texture another pool made into this pool's free list."""
        self._serially(self._put, texture_key(texture), texture)

    def merge_into(self, other: TextureManager) -> None:
        """Hands every free texture to `other`, as freed before any of its own (a dropped plan's:
        those of the shapes in use stay longer); textures still in use go there when released."""
        self._serially(self._hand_over, other)

    def _hand_over(self, other: TextureManager) -> None:
        free, self._free = self._free, {}
        self.forward_to = other
        self.bytes_free = 0
        other._serially(other._adopt_as_oldest, free)

    def _adopt_as_oldest(self, free: dict) -> None:
        if self.forgotten:
            return
        for key, textures in free.items():
            self.bytes_free += texture_bytes(*key) * len(textures)
            free[key] = textures + self._free.pop(key, [])
        self._free = {**free, **self._free}
        self._evict_past_limit()

    def forget(self) -> None:
        """Drops the free and evicted textures, as the context that held them is destroyed (no GL
        call), and those released or handed to the pool later (tensors and plans that outlive it)."""
        self._serially(self._forget)

    def _forget(self) -> None:
        self._free, self.evicted, self.bytes_free, self.forgotten = {}, [], 0, True

    def textures_alive(self) -> int:
        return self.in_use + len(self.evicted) + sum(len(v) for v in self._free.values())


def texture_key(texture) -> tuple[int, int, int, str]:
    """(cols, rows, channels, dtype): which acquire() calls a texture can serve."""
    return (*texture.extra, texture.components, texture.dtype)
