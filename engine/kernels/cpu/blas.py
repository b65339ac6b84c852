"""OpenBLAS's threads, used for a model's calls where they are seen to pay.

OpenBLAS (numpy's BLAS) splits any product of more than ~2.6e5 multiply-adds across all its
threads. On an idle 2-core machine that pays for a convnet's products (handtrack's convolutions: 40
GMAC/s on one thread, 75 on two; MoveNet's call 14.7 -> 11.1 ms), but not once another process holds
a core: a product then waits for a descheduled thread (a 0.1 ms product took a scheduler tick or more,
median 12 ms, on a 2-core machine under load), and OpenBLAS's threads, which spin a while after each
product, take the caller's core between products (MoveNet beside one busy process: 23 ms threaded,
14.6 ms on one thread). The products' own timings miss that second cost, so the choice is made per
workload (a model on inputs of given shapes) from the wall time of whole calls: `ThreadChoice` times
calls each way, runs them the way whose latest calls' median has been faster, and tries the other way
again now and then: less often each time it loses (every `FIRST_RETRY` calls at first, at most every
`LAST_RETRY`), at once again when it wins, so a machine that becomes busy or idle is noticed within a
few calls while a losing way costs little. The CPU backend's threaded way is OpenMP's threads for the
products, depthwise convolutions and epilogues together where numba has them
(engine.kernels.cpu.openmp), else OpenBLAS's own.

The thread count is OpenBLAS's process-wide setting, lowered to 1 for a single-threaded stretch and
then restored. Nested or concurrent lowerings are counted under a lock, so the setting always returns
to what it was. Never raised: a process that set OPENBLAS_NUM_THREADS=1 stays single-threaded.
Without OpenBLAS (another BLAS, another platform) there is nothing to choose.
"""
from __future__ import annotations

import ctypes
import functools
import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import numpy as np

SAMPLES = 3         # calls timed each way before a workload picks the faster
WINDOW = 5          # latest calls per way whose median is what that way costs (one outlier is not)
FIRST_RETRY = 16    # calls between tries of the losing way; doubled each time it loses again
LAST_RETRY = 1024


def _find_openblas():
    """(get_num_threads, set_num_threads, the library) of the OpenBLAS numpy loaded, or None."""
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
                    return get, set_, lib
    return None


_OPENBLAS = _find_openblas()


@functools.cache
def cblas_sgemm():
    """numpy's OpenBLAS's cblas_sgemm as a ctypes function (its integers 64-bit where OpenBLAS was
    built so), for kernels that call it per block of rows on threads of their own; None if not found."""
    if _OPENBLAS is None:
        return None
    lib = _OPENBLAS[2]
    for prefix in ("scipy_", ""):
        for suffix, integer in (("64_", ctypes.c_int64), ("", ctypes.c_int)):
            function = getattr(lib, f"{prefix}cblas_sgemm{suffix}", None)
            if function is not None:
                c = ctypes
                prototype = c.CFUNCTYPE(None, c.c_int, c.c_int, c.c_int, integer, integer, integer, c.c_float,
                                        c.c_void_p, integer, c.c_void_p, integer, c.c_float, c.c_void_p, integer)
                return prototype((function.__name__, lib))
    return None


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
    get, set_, _ = _OPENBLAS
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


def threads_can_help() -> bool:
    """Whether OpenBLAS is there with more than one thread to use."""
    return _OPENBLAS is not None and _depth == 0 and _OPENBLAS[0]() > 1


class ThreadChoice:
    """Whether one workload's calls run faster with OpenBLAS's threads or on one thread, learned
    from their wall times (see the module doc)."""

    def __init__(self) -> None:
        # [one thread, threads]: each way's latest call times; their medians are what it costs
        self.times = (deque(maxlen=WINDOW), deque(maxlen=WINDOW))
        self.calls = 0
        self.retry_every = self.until_retry = FIRST_RETRY

    def threaded_next(self) -> bool:
        """Which way the next call runs."""
        single, threaded = self.times
        if len(single) < SAMPLES or len(threaded) < SAMPLES:
            return len(threaded) < len(single)
        self.until_retry -= 1
        return self.threads_faster() != (self.until_retry <= 0)

    def threads_faster(self) -> bool:
        single, threaded = (statistics.median(times) for times in self.times)
        return threaded < single

    def record(self, threaded: bool, seconds: float) -> None:
        if self.until_retry > 0:
            self.times[threaded].append(seconds)
            return
        # that call tried the losing way: if it beat the winner's median, try it again at once (it
        # takes a few such calls to move the median), else wait twice as long as last time
        won = seconds < statistics.median(self.times[not threaded])
        self.times[threaded].append(seconds)
        if won:
            self.until_retry, self.retry_every = 1, FIRST_RETRY
        else:
            self.retry_every = min(self.retry_every * 2, LAST_RETRY)
            self.until_retry = self.retry_every

    @contextmanager
    def call(self, threads: Callable[[], AbstractContextManager] | None = None) -> Iterator[None]:
        """One call of the workload, on threads (inside `threads()`, default OpenBLAS's own) or on one
        thread; timed unless it is the workload's first (which pays for allocations and compiles, on
        threads so that they have started before any timed call) or fails."""
        self.calls += 1
        if not threads_can_help():
            yield
            return
        on_threads = threads() if threads is not None else nullcontext()
        if self.calls == 1:
            with on_threads:
                yield
            return
        threaded = self.threaded_next()
        started = time.perf_counter()
        with on_threads if threaded else single_threaded():
            yield
        self.record(threaded, time.perf_counter() - started)
