"""Making the offscreen OpenGL context: EGL (headless, any GPU or Mesa llvmpipe) or a hidden GLFW window.

Environment:
  TFGL_GL_CONTEXT=egl|glfw   how to make the context (default egl)
  TFGL_GL_DEVICE=N           EGL device index (GPU choice); by default the EGL device of the first GPU in
                             CUDA_VISIBLE_DEVICES where the driver tells it (egl_devices.py), else 0
  TFGL_CACHE, TFGL_PROGRAM_CACHE, TFGL_CACHE_MAX_MB   the drivers' shader disk cache (shader_cache.py),
                             set up before the first context because drivers read it only then

Thread rules: an OpenGL context is current in one thread at a time. tfgl gives each thread its own
context (and its own WebGL backend, program cache and textures); every GL section enters it with
`with ctx:` so a thread never runs GL calls against another thread's context. When the thread ends,
its context is destroyed with everything in it (release_context), so threads that come and go do
not pile up GPU memory.
"""
from __future__ import annotations

import os

from engine.errors import GLError
from engine.webgl import egl_devices, llvm_isolation, shader_cache
from engine.webgl.gl import proc_address_loader

MIN_VERSION = 330


def create_context(kind: str | None = None, device: int | None = None):
    """A moderngl context with OpenGL >= 3.3, or GLError saying why none could be made. Its
    `tfgl_proc_address` finds GL functions for tfgl's own program objects (engine/webgl/gl.py)."""
    kind = (kind or os.environ.get("TFGL_GL_CONTEXT", "egl")).lower()
    try:  # optional at import time: `import engine` works without GL libraries
        import moderngl
    except ImportError as error:
        raise GLError(f"moderngl is not installed: {error}") from None
    shader_cache.configure()
    llvm_isolation.before_context()
    if kind == "egl":
        ctx = _egl(moderngl, _egl_device() if device is None else device)
    elif kind == "glfw":
        ctx = _glfw(moderngl)
    else:
        raise GLError(f"TFGL_GL_CONTEXT must be 'egl' or 'glfw', not {kind!r}")
    llvm_isolation.after_context(ctx.info.get("GL_RENDERER", ""))
    if ctx.version_code < MIN_VERSION:
        raise GLError(f"OpenGL {ctx.version_code / 100:.1f} is too old; tfgl needs 3.3 or newer")
    ctx.tfgl_proc_address = proc_address_loader(kind)
    ctx.tfgl_kind = kind
    return ctx


def release_context(ctx) -> None:
    """Destroys an EGL context create_context made, and every object in it; current in no thread (a
    GL section left it), so EGL destroys it at once. A glfw context stays: it lives in a window of
    the main thread, which ends only with the process."""
    if ctx.tfgl_kind == "egl":
        ctx.release()


def _egl_device() -> int:
    if "TFGL_GL_DEVICE" in os.environ:
        return int(os.environ["TFGL_GL_DEVICE"])
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return 0
    mapped = egl_devices.device_for_visible_cuda(egl_devices.egl_cuda_devices(), visible)
    return 0 if mapped is None else mapped


def _egl(moderngl, device: int):
    errors = []
    # Some systems ship only the versioned sonames (libEGL.so.1) without the development symlinks.
    for libs in ({}, {"libegl": "libEGL.so.1", "libgl": "libGL.so.1"}):
        try:
            return moderngl.create_standalone_context(backend="egl", device_index=device, **libs)
        except Exception as error:  # glcontext raises plain Exceptions with the EGL error text
            errors.append(str(error))
    raise GLError("cannot create an EGL context: " + " / ".join(errors))


def _glfw(moderngl):
    try:
        import glfw
    except ImportError as error:
        raise GLError(f"glfw is not installed: {error}") from None
    if not glfw.init():
        raise GLError("glfw.init() failed (no display?)")
    for hint, value in ((glfw.VISIBLE, glfw.FALSE), (glfw.CONTEXT_VERSION_MAJOR, 3),
                        (glfw.CONTEXT_VERSION_MINOR, 3), (glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE),
                        (glfw.OPENGL_FORWARD_COMPAT, glfw.TRUE)):
        glfw.window_hint(hint, value)
    window = glfw.create_window(16, 16, "tfgl", None, None)
    if not window:
        raise GLError("glfw could not create a hidden window with an OpenGL 3.3 core context")
    glfw.make_context_current(window)
    ctx = moderngl.create_context()
    ctx.extra = window  # keeps the window alive as long as the context
    return ctx
