"""Backends and the current-backend setting (as TF.js's tf.setBackend)."""
from __future__ import annotations

import threading

from engine.backends import webgl
from engine.backends.base import Backend
from engine.backends.cpu import CPUBackend

_CPU = CPUBackend()
_state = threading.local()
_default = {"name": None}
# Backends that reproduce another device's precision on this one: webgl storing every program's output
# as a half, as TF.js on phones without float32 render targets (engine/webgl/half_float.py).
FP16_BACKENDS = ("webgl-fp16",)
BACKEND_NAMES = ("webgl", "cpu", *FP16_BACKENDS)


def available_backends(fp16: bool = False) -> list[str]:
    """Backends usable on this machine, best first: those a model runs on by default; with `fp16`,
    also those that reproduce a phone's half-float storage (where webgl is available)."""
    native = (["webgl"] if webgl.available() else []) + ["cpu"]
    return native + list(FP16_BACKENDS) if fp16 and "webgl" in native else native


def get_backend(name: str | None = None) -> Backend:
    """The named backend, or the current one (webgl where a context can be made, else cpu)."""
    name = name or getattr(_state, "name", None) or _default["name"] or available_backends()[0]
    if name == "cpu":
        return _CPU
    if name in ("webgl", "webgl-fp16"):
        backend = webgl.backend_for_thread(half=True if name == "webgl-fp16" else None)
        return backend if backend is not None else _CPU
    raise ValueError(f"unknown backend {name!r}: use one of {', '.join(BACKEND_NAMES)}")


def set_backend(name: str) -> Backend:
    """Makes `name` the current backend of every thread that hasn't chosen one itself."""
    backend = get_backend(name)
    _default["name"] = backend.name
    return backend


__all__ = ["BACKEND_NAMES", "Backend", "CPUBackend", "FP16_BACKENDS", "available_backends", "get_backend",
           "set_backend"]
