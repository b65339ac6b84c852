"""Backends and the current-backend setting (as TF.js's tf.setBackend)."""
from __future__ import annotations

import threading

from engine.backends import webgl
from engine.backends.base import Backend
from engine.backends.cpu import CPUBackend

_CPU = CPUBackend()
_state = threading.local()
_default = {"name": None}


def available_backends() -> list[str]:
    """Backends usable on this machine, best first."""
    return (["webgl"] if webgl.available() else []) + ["cpu"]


def get_backend(name: str | None = None) -> Backend:
    """The named backend, or the current one (webgl where a context can be made, else cpu)."""
    name = name or getattr(_state, "name", None) or _default["name"] or available_backends()[0]
    if name == "cpu":
        return _CPU
    if name == "webgl":
        backend = webgl.backend_for_thread()
        return backend if backend is not None else _CPU
    raise ValueError(f"unknown backend {name!r}: use 'cpu' or 'webgl'")


def set_backend(name: str) -> Backend:
    """Makes `name` the current backend of every thread that hasn't chosen one itself."""
    backend = get_backend(name)
    _default["name"] = backend.name
    return backend


__all__ = ["Backend", "CPUBackend", "available_backends", "get_backend", "set_backend"]
