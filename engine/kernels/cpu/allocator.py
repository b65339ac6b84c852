"""glibc's allocator, set once for model runs on the CPU backend so that big arrays reuse memory.

glibc serves blocks above its mmap threshold (128 KiB at start) with fresh mmaps, every page of
which faults on first touch, and unmaps them when freed. It raises the threshold itself as big
blocks are freed, up to 32 MiB, but only block by block and per arena: measured on the handtrack
detector, steady calls took 85 ms for their first dozen, then 50-62 ms once the threshold had
grown, and stayed at 85 ms on one thread. Setting the thresholds where that adjustment ends
(mmap 32 MiB, trim twice that, as glibc sets it) gives the fast calls from the first one on.

The setting is process-wide; it is left alone where the user set glibc's MALLOC_* variables, on
other C libraries, and with TFGL_CPU_MALLOC=0.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

SWITCH_VARIABLE = "TFGL_CPU_MALLOC"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 << 20                    # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

_lock = threading.Lock()
_done = False


def _wanted() -> bool:
    if os.environ.get(SWITCH_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return not any(name.startswith("MALLOC_") for name in os.environ)


def tune_once() -> bool:
    """Sets the thresholds on the first call (where wanted and glibc is there); whether it did."""
    global _done
    if _done:
        return False
    with _lock:
        if _done:
            return False
        _done = True
        if not _wanted():
            return False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # not glibc (musl has no mallopt, macOS no libc.so.6)
            return False
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
