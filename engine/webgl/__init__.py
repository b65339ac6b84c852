"""The WebGL backend (GLSL fragment shaders on an offscreen OpenGL context)."""
from __future__ import annotations


def available() -> bool:
    """Whether an OpenGL context can be made here (the backend itself lands with issue 2/6)."""
    return False


def backend_for_thread():
    return None
