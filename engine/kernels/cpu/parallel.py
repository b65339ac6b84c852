"""Helper threads for the CPU kernels: a kernel cuts its output into chunks of rows and the calling
thread works through them together with the helpers, one helper per further CPU.

numpy releases the GIL inside ufunc loops, einsum and BLAS, so the threads compute at the same time;
a chunk's Python glue is short. The chunks come from one counter, and the calling thread takes them
too: when another process holds the other core and a helper does not get to run, the caller does the
chunks itself, and waits only for a chunk a helper already has in hand. Each chunk is small enough
(a few per thread) that such a wait stays short. Work below `MIN_PARALLEL_WORK` is not split: waking a
helper costs tens of microseconds.

Threads only pay while the other cores are free. On a machine whose cores other processes keep busy
the helper shares a core with the caller, and splitting costs a third more than not. So each job
measures what it got: the CPU time its chunks took on all threads over its wall time. When that
speedup stays below `MIN_SPEEDUP`, the next `SOLO_JOBS` jobs run on the calling thread alone, then
the threads are tried again.

One job runs at a time: a kernel called meanwhile from another thread, or from inside a chunk, runs
its chunks itself. Threads: TFGL_CPU_THREADS (default: the CPUs this process may run on); 1 turns the
helpers off. Helpers start on first use and are daemon threads; a forked child starts its own.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable

from engine.kernels.cpu import blas, openmp

# Below this many element operations (multiply-adds, or elements times passes) a kernel runs whole
# on the calling thread: ~0.2 ms of numpy work, a few times what handing chunks out costs.
MIN_PARALLEL_WORK = 1 << 20
CHUNKS_PER_THREAD = 2  # the caller takes over the chunks of a helper that does not get a core
# Below this speedup (a running average over jobs) threads are paused for SOLO_JOBS jobs.
MIN_SPEEDUP = 1.3
SOLO_JOBS = 1024


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
        self.cpu_seconds: list[float] = []  # per chunk, on whichever thread ran it

    def work(self) -> None:
        while (index := next(self.taken)) < self.chunks:
            started = time.thread_time()
            try:
                if self.error is None:
                    self.fn(index)
            except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
                self.error = error
            self.cpu_seconds.append(time.thread_time() - started)
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
        self.speedup = MIN_SPEEDUP + 0.25  # running average of what jobs got from the threads
        self.solo_jobs = 0                # jobs left to run on the calling thread alone
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
            started = time.perf_counter()
            with self._wake:
                self._job, self._generation = job, self._generation + 1
                self._wake.notify_all()
            job.work()
            job.finished.wait()
            self._measured(sum(job.cpu_seconds) / max(time.perf_counter() - started, 1e-9))
        finally:
            self._running.inside = False
            self._busy.release()
        if job.error is not None:
            raise job.error

    def solo(self) -> bool:
        """Whether this job runs whole on the calling thread (threads paused, see the module doc)."""
        if not self.solo_jobs:
            return False
        self.solo_jobs -= 1
        if not self.solo_jobs:
            self.speedup = MIN_SPEEDUP + 0.25  # try the threads again
        return True

    def _measured(self, speedup: float) -> None:
        self.speedup = 0.75 * self.speedup + 0.25 * speedup
        if self.speedup < MIN_SPEEDUP:
            self.solo_jobs = SOLO_JOBS


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
    # with OpenMP's kernels loaded, the threaded way is theirs, and one thread means one thread: the
    # helpers' chunks would cut products into other sgemms than the OpenMP blocks, with other bits
    pool = _the_pool() if work >= MIN_PARALLEL_WORK and rows > 1 and not openmp.loaded() else None
    if pool is None or pool.solo():  # one chunk: each costs tens of microseconds of glue
        fn(0, rows)
        return
    chunks = min(rows, (pool.helpers + 1) * CHUNKS_PER_THREAD)
    bounds = [rows * index // chunks for index in range(chunks + 1)]
    with blas.single_threaded():  # the chunks are the threads: OpenBLAS's would only compete
        pool.run(chunks, lambda index: fn(bounds[index], bounds[index + 1]))
