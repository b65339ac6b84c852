"""The WebGL backend: GLSL fragment-shader kernels on an offscreen OpenGL context.

Each thread gets its own context and backend (see context.py for the thread rules). When no
context can be made, tfgl warns once and uses the CPU backend.
"""
from __future__ import annotations

import threading
import warnings

from engine.errors import GLError
from engine.webgl.backend import CPUFallback, WebGLBackend

_local = threading.local()
_failure: dict[str, str | None] = {"reason": None}
_lock = threading.Lock()


def backend_for_thread() -> WebGLBackend | None:
    """This thread's WebGL backend, made on first use; None (after one warning) if GL is unusable."""
    backend = getattr(_local, "backend", None)
    if backend is not None or _failure["reason"] is not None:
        return backend
    from engine.webgl.context import create_context
    try:
        backend = WebGLBackend(create_context())
    except GLError as error:
        with _lock:
            if _failure["reason"] is None:
                _failure["reason"] = str(error)
                warnings.warn(f"tfgl: no OpenGL context ({error}); using the CPU backend", RuntimeWarning,
                              stacklevel=3)
        return None
    _local.backend = backend
    return backend


def available() -> bool:
    """Whether this machine can make an OpenGL 3.3+ context."""
    return backend_for_thread() is not None


def stats() -> dict:
    """Counters of this thread's WebGL backend: programs compiled, compile ms, cache hits, draws,
    uploads, downloads, CPU fallbacks per op, texture bytes."""
    backend = backend_for_thread()
    if backend is None:
        return {}
    return dict(backend.stats.as_dict(), texture_bytes=backend.texture_bytes(),
                textures_alive=backend.textures.textures_alive())


def reset_stats() -> None:
    backend = backend_for_thread()
    if backend is not None:
        from engine.webgl.backend import Stats
        backend.stats = Stats()


__all__ = ["CPUFallback", "WebGLBackend", "available", "backend_for_thread", "reset_stats", "stats"]
