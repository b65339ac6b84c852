"""Scratch buffers that kernels reuse from call to call: padded inputs, im2col patches.

A fresh multi-megabyte array costs more than filling it: the allocator hands big blocks back to the
system and every page of a new one faults on first touch (a MobileNetV2 run took ~1,400 page
faults, several milliseconds, before these buffers were kept). Each thread keeps one buffer per
named slot, grown to the largest size asked for and never shrunk.

A scratch array is valid only until the next `scratch` call for the same slot in the same thread:
a kernel must never return it, nor a view of it, nor keep it past its own call. Outputs are
always fresh arrays, since the caller may hold them as long as it likes.
"""
from __future__ import annotations

import threading
from math import prod

import numpy as np

from engine.io.limits import check_tensor_size

# Buffers above this many bytes are not kept (allocated fresh each time): bounds what one thread
# holds on to for a model with huge activations.
MAX_KEPT_BYTES = 64 << 20


class _Slots(threading.local):
    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}


_slots = _Slots()


def scratch(slot: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialized C-contiguous array of `shape` and `dtype` on this thread's buffer `slot`."""
    dtype = np.dtype(dtype)
    check_tensor_size(f"scratch buffer {slot!r}", shape, dtype.itemsize)
    nbytes = prod(shape) * dtype.itemsize
    if dtype.hasobject or nbytes > MAX_KEPT_BYTES:
        return np.empty(shape, dtype)
    buffer = _slots.buffers.get(slot)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = np.empty(max(nbytes, 64), np.uint8)
        _slots.buffers[slot] = buffer
    return buffer[:nbytes].view(dtype).reshape(shape)


def release_all() -> None:
    """Drops this thread's buffers (they are allocated again on next use)."""
    _slots.buffers.clear()
