"""A model call's parallel work on OpenMP's threads, where blas.ThreadChoice finds that a workload's
calls run faster on threads and numba (tfgl[fast-cpu]) has a thread-safe threading layer here.

OpenBLAS's own threads spin a while after each product (2^28 cycles unless OPENBLAS_THREAD_TIMEOUT
said otherwise when numpy loaded), and any other pool's thread waiting for that core stalls for a
scheduler tick meanwhile (numba's OpenMP depthwise kernel: 0.3 ms alone, 4-8 ms right after a
threaded product). So inside `threads()` OpenBLAS keeps one thread and the products are split
instead: rows in blocks, one single-threaded sgemm per block on OpenMP's threads
(numba_parallel.products; 1600x128 @ 128x128 on 2 cores: 515 us on one thread, 258 in blocks, 261
threaded OpenBLAS, the same bits), and so are the depthwise convolutions, the windowed convolutions
(gather, sgemm and epilogue per chunk of rows; the same chunks on one thread, so the same bits), the
fused epilogues and the elementwise chains.

GNU OpenMP does not survive a fork: a forked child runs everything on its calling thread.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from engine.kernels.cpu import blas

log = logging.getLogger("tfgl.cpu")
MIN_MACS = 1 << 18   # smaller products run on the calling thread (OpenBLAS never splits them either)
MIN_WORK = 1 << 17   # element operations below which a depthwise convolution or an epilogue runs whole
F32 = np.dtype(np.float32)
GOMP_SPINS = 10_000_000

_kernels = None      # (numba_parallel, cblas_sgemm, threads) once loaded; False: not here
_load_lock = threading.Lock()
_local = threading.local()


def available() -> bool:
    """Whether the OpenMP kernels run here; the first call loads them (numba's cached machine code)."""
    global _kernels
    if _kernels is None:
        with _load_lock:
            if _kernels is None:
                _kernels = _load()
    return _kernels is not False


def _load():
    from engine.kernels.cpu import compiled  # which imports this module
    if blas.cblas_sgemm() is None or not compiled.handles(F32):
        return False
    try:
        # GNU OpenMP's threads sleep after 300k idle spins: between two kernels of a call (tens of
        # microseconds of Python) they fell asleep, and every kernel waited to wake them (MoveNet's
        # call on threads: 19-30 ms instead of 10); 10M spins keep them through a call, and let them
        # sleep a few milliseconds after it, as OpenBLAS's threads do. Read when libgomp loads.
        os.environ.setdefault("GOMP_SPINCOUNT", str(GOMP_SPINS))
        import numba
        if not os.environ.get("NUMBA_THREADING_LAYER"):
            numba.config.THREADING_LAYER = "threadsafe"  # OpenMP or TBB; never the workqueue
        from engine.kernels.cpu import numba_parallel
        a, out = np.ones((2, 2), np.float32), np.empty((2, 2), np.float32)
        numba_parallel.products(numba_parallel.SGEMM, a, a, out, 2)  # loads the threading layer, or fails here
        if not np.array_equal(out, a @ a):
            return False
    except Exception as error:  # noqa: BLE001 - a speed-up only: without it calls run on one thread
        log.info("CPU kernels stay off OpenMP: %s", error)
        return False
    return numba_parallel, numba_parallel.SGEMM, numba.get_num_threads()


def _forked() -> None:
    global _kernels
    _kernels = False


os.register_at_fork(after_in_child=_forked)


@contextmanager
def threads() -> Iterator[None]:
    """A call on threads: its products, depthwise convolutions and epilogues on OpenMP's threads
    (OpenBLAS on one) where available(), else OpenBLAS's own threads."""
    if not available():
        yield
        return
    with blas.single_threaded():
        _local.on = True
        try:
            yield
        finally:
            _local.on = False


def loaded() -> bool:
    """Whether the OpenMP kernels are loaded here (available() was called and they work)."""
    return _kernels is not None and _kernels is not False


def active() -> bool:
    return getattr(_local, "on", False) and loaded()


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """np.matmul(a, b, out=out); once the OpenMP kernels are loaded, where it fits (float32, 2-D,
    C-contiguous, at least MIN_MACS), in blocks of rows: on OpenMP's threads inside threads(), else the
    same blocks on the calling thread, so that either way gives the same bits."""
    if not loaded() or a.ndim != 2 or b.ndim != 2 or a.dtype != F32 or b.dtype != F32 \
            or a.shape[0] * a.shape[1] * b.shape[1] < MIN_MACS or not a.flags.c_contiguous \
            or not b.flags.c_contiguous or (out is not None and (out.dtype != F32 or not out.flags.c_contiguous)):
        return np.matmul(a, b, out=out)
    module, sgemm, count = _kernels
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), F32)
    (module.products if active() else module.products_on_one_thread)(sgemm, a, b, out, count)
    return out


def pointwise(pixels: np.ndarray, weights: np.ndarray, out: np.ndarray, epilogue: tuple) -> bool:
    """out = pixels @ weights then the epilogue (compiled.Epilogue.of's args), as matmul's blocks each
    finished in the same pass (numba_parallel.pointwise): on OpenMP's threads inside threads(), else
    the same blocks on the calling thread (loading the kernels if need be, as `convolve`, so a model's
    first call takes the path later ones do). False where matmul would not split the product."""
    if pixels.shape[0] * pixels.shape[1] * weights.shape[1] < MIN_MACS \
            or any(a.dtype != F32 or not a.flags.c_contiguous for a in (pixels, weights, out)) or not available():
        return False
    module, sgemm, count = _kernels
    (module.pointwise if active() else module.pointwise_on_one_thread)(sgemm, pixels, weights, out, count, *epilogue)
    return True


def depthwise(x: np.ndarray, weights: np.ndarray, out: np.ndarray, args: tuple) -> bool:
    """compiled.depthwise's work on OpenMP's threads inside threads() (args: the kernel's after
    `out`); False where it does not run so (outside threads(), not float32, or too small)."""
    if not active() or out.dtype != F32 or out.size * weights.shape[0] * weights.shape[1] < MIN_WORK:
        return False
    kernels, _, count = _kernels
    kernels.depthwise(x, weights, out, count, *args)
    return True


def epilogue(rows: np.ndarray, start: int, stop: int, args: tuple) -> bool:
    """compiled.epilogue_rows's work on rows[:, start:stop] on OpenMP's threads inside threads();
    False where it does not run so."""
    if not active() or rows.dtype != F32 or rows[:, start:stop].size < MIN_WORK:
        return False
    kernels, _, count = _kernels
    kernels.epilogue(rows, start, stop, count, *args)
    return True


def convolve(x: np.ndarray, weights: np.ndarray, out: np.ndarray, info, epilogue: tuple) -> bool:
    """A channels-last convolution with a window, gathered, multiplied and finished chunk by chunk of
    output rows (numba_parallel.convolve): on OpenMP's threads inside threads(), else on the calling
    thread with the same sgemms, so either way gives the same bits. x (N, H, W, C), weights
    (KH * KW * C, OC), out (N, OH, OW, OC), `info` its ConvInfo, `epilogue` compiled.Epilogue.of's
    args. False where it does not run (no OpenMP kernels here, not float32, not 2-D, or too small)."""
    if len(info.window) != 2 or any(a.dtype != F32 for a in (x, weights, out)) \
            or out.size * weights.shape[0] < MIN_MACS or not available():
        return False
    kernels, sgemm, count = _kernels
    run = kernels.convolve if active() else kernels.convolve_on_one_thread
    (pad_top, _), (pad_left, _) = info.pads
    run(sgemm, np.ascontiguousarray(x), np.ascontiguousarray(weights), out.reshape(out.shape[0], out.shape[1], -1),
        count, kernels.chunk_rows(out.shape[2], weights.shape[0]), out.shape[2], *info.window, *info.strides,
        *info.dilations, pad_top, pad_left, *epilogue)
    return True


def separable(x: np.ndarray, depthwise_weights: np.ndarray, pointwise_weights: np.ndarray, out: np.ndarray, info,
              depthwise_epilogue: tuple, epilogue: tuple) -> bool:
    """A depthwise convolution (ConvInfo `info`, weights (KH, KW, C)) and the 1x1 one by
    pointwise_weights (C, OC) that reads it, chunk by chunk of output rows (numba_parallel.separable):
    on OpenMP's threads inside threads() where the product is big enough, else the same chunks on the
    calling thread. False where it does not run (no OpenMP kernels here, not float32, not 2-D)."""
    if len(info.window) != 2 or not available() \
            or any(a.dtype != F32 or not a.flags.c_contiguous for a in (x, depthwise_weights, pointwise_weights, out)):
        return False
    kernels, sgemm, count = _kernels
    threaded = active() and out.size * pointwise_weights.shape[0] >= MIN_MACS
    run = kernels.separable if threaded else kernels.separable_on_one_thread
    (pad_top, _), (pad_left, _) = info.pads
    run(sgemm, x, depthwise_weights, pointwise_weights, out,
        kernels.separable_chunk_rows(out.shape[1], out.shape[2], x.shape[3], count), *info.strides, *info.dilations,
        pad_top, pad_left, *depthwise_epilogue, *epilogue)
    return True


def chain(codes: np.ndarray, whole: list[np.ndarray], constants: np.ndarray, out: np.ndarray, spans: int) -> bool:
    """elementwise_chain's compiled chain (numba_kernels.chain_spans's args) on OpenMP's threads inside
    threads(), its spans in blocks; False where it does not run so (outside threads(), not float32, or
    too small). Each value is computed as on one thread."""
    if not active() or out.dtype != F32 or out.size * codes.shape[0] < MIN_WORK:
        return False
    kernels, _, count = _kernels
    kernels.chain(codes, *whole, constants, out, np.float32(0), np.float32(6), spans, count)
    return True


def resize_bilinear(pixels: np.ndarray, indexes_and_lerps: tuple, out: np.ndarray) -> bool:
    """compiled.resize_bilinear's work on OpenMP's threads inside threads() (indexes_and_lerps: y_low,
    y_high, y_lerp, x_low, x_high, x_lerp); False where it does not run so."""
    y_low, y_high, y_lerp, x_low, x_high, x_lerp = indexes_and_lerps
    if not active() or out.size * 6 < MIN_WORK or any(a.dtype != np.int64 for a in (y_low, y_high, x_low, x_high)) \
            or any(a.dtype != F32 for a in (pixels, y_lerp, x_lerp, out)):
        return False
    kernels, _, count = _kernels
    kernels.resize_bilinear(pixels, *indexes_and_lerps, out, count)
    return True
