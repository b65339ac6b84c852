"""The WebGL backend: tensors in float textures, ops as fragment-shader programs drawn into them.

Each thread gets its own context and backend (engine/webgl/context.py has the thread rules), closed
when the thread ends; when no context can be made, tfgl warns once and uses the CPU backend. The
webgl-fp16 backend is this one with every program's output stored as a half, on a context of its
own (engine/webgl/half_float.py).

Programs compile on first use and are cached by what their GLSL is made of (engine/webgl/programs.py).
`compile_only()` is a dry run for warm-up: each new program is compiled and drawn into one pixel
(llvmpipe JIT-compiles at the first draw; with Mesa's disk cache on, worker threads JIT them in
parallel first, engine/webgl/parallel_jit.py), and everything else the run makes is thrown away when
it ends (dry_run.py), so no value it did not compute survives it (TF.js's compile-only mode left zeros
behind, tfjs#7372). Ops without a GL kernel run their CPU kernel on downloaded values (logged once per
op), and ops whose inputs are all small CPU tensors run on the CPU directly, as TF.js's
WEBGL_CPU_FORWARD does, so shape arithmetic never round-trips through textures.

This package: the backend per thread (here), the backend (backend.py), where its tensors' values are
(tensor_textures.py) and what a dry run makes (dry_run.py).
"""
from __future__ import annotations

import sys
import threading
import warnings

from engine.backends.webgl.backend import WebGLBackend
from engine.errors import GLError
from engine.webgl import half_float
from engine.webgl.context import create_context
from engine.webgl.half_float import FLOAT32


class _ThreadBackends(dict):
    """A thread's backends, by storage. Only its thread-local slot holds it, so it goes when the thread
    ends, in that thread, and closes them: their GL contexts go with the thread, not the process."""

    def __del__(self, finalizing=sys.is_finalizing):
        if not finalizing():  # at exit, the process takes its contexts with it
            for backend in self.values():
                try:
                    backend.close()
                except Exception as error:  # the thread's other backend still closes
                    warnings.warn(f"tfgl: closing an ended thread's {backend.name} backend failed: {error}",
                                  RuntimeWarning, stacklevel=1)


_local = threading.local()
_failure: dict[str, str | None] = {"reason": None}
_lock = threading.Lock()


def backend_for_thread(half: bool | None = None) -> WebGLBackend | None:
    """This thread's WebGL backend, made on first use; None (after one warning) if GL is unusable.
    `half`: the one storing halves (webgl-fp16: a context of its own, rounding as TFGL_FP16_ROUNDING
    says) or float32; None: as TFGL_WEBGL_PRECISION says."""
    if half is None:
        half = half_float.fp16_by_default()
    storage = half_float.half_storage() if half else FLOAT32
    backends = getattr(_local, "backends", None)
    if backends is None:
        backends = _local.backends = _ThreadBackends()
    backend = backends.get(storage)
    if backend is not None or _failure["reason"] is not None:
        return backend
    try:
        backend = WebGLBackend(create_context(), storage)
    except GLError as error:
        with _lock:
            if _failure["reason"] is None:
                _failure["reason"] = str(error)
                warnings.warn(f"tfgl: no OpenGL context ({error}); using the CPU backend", RuntimeWarning,
                              stacklevel=3)
        return None
    backends[storage] = backend
    return backend


def available() -> bool:
    """Whether this machine can make an OpenGL 3.3+ context."""
    return backend_for_thread() is not None


def check_thread_error(where: str, half: bool | None = None) -> None:
    """Raises GLError if this thread's context (of backend_for_thread(half)) holds a GL error (reading
    it clears it); no-op without GL."""
    backend = backend_for_thread(half)
    if backend is not None:
        with backend.current():
            backend.check_error(where)


def stats() -> dict:
    """Counters of this thread's WebGL backend: programs compiled, compile ms, cache hits, draws,
    uploads, downloads, CPU fallbacks per op, texture bytes."""
    backend = backend_for_thread()
    if backend is None:
        return {}
    return dict(backend.stats.as_dict(), texture_bytes=backend.texture_bytes(),
                textures_alive=backend.textures.textures_alive())


__all__ = ["WebGLBackend", "available", "backend_for_thread", "check_thread_error", "stats"]
