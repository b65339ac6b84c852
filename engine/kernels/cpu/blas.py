"""Matrix products through numpy's BLAS, threaded only where threads pay.

OpenBLAS (numpy's BLAS) splits any product of more than ~2.6e5 multiply-adds across all its threads.
For the products of a typical convnet layer (1e6 to 5e7 multiply-adds, 0.02 to 1 ms on one core)
waking the other threads gains little even on an idle machine, and once another process holds a
core the product waits for a descheduled thread: a 0.1 ms product then takes a scheduler tick or
more (measured: median 12 ms instead of 0.1 ms on a 2-core machine under load), and a MobileNetV2
run three times as long as single-threaded. So `matmul` runs products below `THREADED_MIN_MACS`
on one BLAS thread and leaves bigger ones to OpenBLAS's own setting (as it does the tiniest, below
`OPENBLAS_SINGLE_MACS`, which OpenBLAS never splits).

The thread count is OpenBLAS's process-wide setting, lowered to 1 for the duration of the small
products and then restored (a few hundred nanoseconds each way). Nested or concurrent small
products share one lowering, counted under a lock, so the setting always returns to what it was;
a product running in another thread meanwhile may run single-threaded. Never raised: a process
that set OPENBLAS_NUM_THREADS=1 stays single-threaded. Without OpenBLAS (another BLAS, another
platform) `matmul` is plain np.matmul.
"""
from __future__ import annotations

import ctypes
import os
import threading
from contextlib import contextmanager

import numpy as np

# Products of at least this many multiply-adds (~2 ms on one core) use OpenBLAS's threads.
THREADED_MIN_MACS = 1 << 27
# OpenBLAS runs products below this many multiply-adds on one thread by itself: lowering its setting
# around them (~5 us) would cost more than the product (a squeeze-and-excite layer's 1x1 convolution).
OPENBLAS_SINGLE_MACS = 1 << 18


def _find_openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS numpy loaded, or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    # numpy's own copy first (wheels bundle it in numpy.libs); scipy may have loaded another
    numpy_dir = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    for path in sorted(paths, key=lambda p: (not p.startswith(os.path.join(numpy_dir, "numpy")), p)):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    set_.restype, set_.argtypes = None, [ctypes.c_int]
                    return get, set_
    return None


_OPENBLAS = _find_openblas()
_lock = threading.Lock()
_depth = 0
_saved = 1


@contextmanager
def single_threaded():
    """OpenBLAS runs on one thread inside this context (see the module doc)."""
    global _depth, _saved
    if _OPENBLAS is None:
        yield
        return
    get, set_ = _OPENBLAS
    with _lock:
        if _depth == 0:
            _saved = get()
            if _saved > 1:
                set_(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved > 1:
                set_(_saved)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """np.matmul(a, b, out=out), single-threaded when the product is small (THREADED_MIN_MACS)."""
    if _OPENBLAS is None or np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.matmul(a, b, out=out)
    macs = np.size(a) * (np.shape(b)[-1] if np.ndim(b) > 1 else 1)
    if macs >= THREADED_MIN_MACS or macs < OPENBLAS_SINGLE_MACS:
        return np.matmul(a, b, out=out)
    with single_threaded():
        return np.matmul(a, b, out=out)
