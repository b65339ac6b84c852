"""Helper threads for the CPU kernels: a kernel cuts its output into chunks of rows and the calling
thread works through them together with the helpers, one helper per further CPU.

numpy releases the GIL inside ufunc loops, einsum and BLAS, so the threads compute at the same time;
a chunk's Python glue is short. The chunks come from one counter, and the calling thread takes them
too: when another process holds the other core and a helper does not get to run, the caller does the
chunks itself, and waits only for a chunk a helper already has in hand. Each chunk is small enough
(a few per thread) that such a wait stays short. Work below `MIN_PARALLEL_WORK` is not split: waking a
helper costs tens of microseconds.

One job runs at a time: a kernel called meanwhile from another thread, or from inside a chunk, runs
its chunks itself. Threads: TFGL_CPU_THREADS (default: the CPUs this process may run on); 1 turns the
helpers off. Helpers start on first use and are daemon threads; a forked child starts its own.
"""
from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable

from engine.kernels.cpu import blas

# Below this many element operations (multiply-adds, or elements times passes) a kernel runs whole
# on the calling thread: ~0.1 ms of numpy work, a few times what handing chunks out costs.
MIN_PARALLEL_WORK = 1 << 19
CHUNKS_PER_THREAD = 2


def thread_count() -> int:
    """TFGL_CPU_THREADS, else the CPUs this process may run on."""
    setting = os.environ.get("TFGL_CPU_THREADS", "").strip()
    if setting:
        try:
            return max(1, int(setting))
        except ValueError:
            raise ValueError(f"TFGL_CPU_THREADS must be a whole number, got {setting!r}") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Job:
    """One call's chunks: taken from a shared counter; `finished` is set when the last one is done."""

    def __init__(self, chunks: int, fn: Callable[[int], None]):
        self.chunks, self.fn = chunks, fn
        self.taken, self.done = itertools.count(), itertools.count(1)  # next() is atomic under the GIL
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def work(self) -> None:
        while (index := next(self.taken)) < self.chunks:
            try:
                if self.error is None:
                    self.fn(index)
            except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
                self.error = error
            if next(self.done) == self.chunks:
                self.finished.set()


class _Pool:
    def __init__(self, helpers: int):
        self.pid, self.helpers = os.getpid(), helpers
        self._wake = threading.Condition()
        self._job: _Job | None = None
        self._generation = 0
        self._busy = threading.Lock()
        self._running = threading.local()
        for number in range(helpers):
            threading.Thread(target=self._serve, name=f"tfgl-cpu-{number + 1}", daemon=True).start()

    def _serve(self) -> None:
        self._running.inside = True  # a chunk that splits work again runs it itself
        generation = 0
        while True:
            with self._wake:
                while self._generation == generation:
                    self._wake.wait()
                generation, job = self._generation, self._job
            job.work()

    def run(self, chunks: int, fn: Callable[[int], None]) -> None:
        if getattr(self._running, "inside", False) or not self._busy.acquire(blocking=False):
            for index in range(chunks):
                fn(index)
            return
        self._running.inside = True
        try:
            job = _Job(chunks, fn)
            with self._wake:
                self._job, self._generation = job, self._generation + 1
                self._wake.notify_all()
            job.work()
            job.finished.wait()
        finally:
            self._running.inside = False
            self._busy.release()
        if job.error is not None:
            raise job.error


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _the_pool() -> _Pool | None:
    global _pool
    pool = _pool
    if pool is None or pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                _pool = _Pool(thread_count() - 1)
            pool = _pool
    return pool if pool.helpers else None


def for_rows(rows: int, work: int, fn: Callable[[int, int], None]) -> None:
    """fn(start, stop) over [0, rows) in chunks, on the helper threads too when `work` (element
    operations in all) is worth splitting; fn must write disjoint outputs for disjoint rows. OpenBLAS
    runs single-threaded meanwhile."""
    pool = _the_pool() if work >= MIN_PARALLEL_WORK and rows > 1 else None
    if pool is None:
        fn(0, rows)
        return
    chunks = min(rows, (pool.helpers + 1) * CHUNKS_PER_THREAD)
    bounds = [rows * index // chunks for index in range(chunks + 1)]
    with blas.single_threaded():  # the chunks are the threads: OpenBLAS's would only compete
        pool.run(chunks, lambda index: fn(bounds[index], bounds[index + 1]))
