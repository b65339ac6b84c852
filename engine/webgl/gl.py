"""GL program objects through ctypes: moderngl cannot make a program from a binary
(glProgramBinary), so tfgl builds, loads and draws its programs itself and keeps moderngl for the
context, textures and framebuffers.

Every program takes this one path, whether compiled from source or loaded from a binary, and draws a
full-screen triangle made from gl_VertexID with an empty vertex array (the core profile needs one
bound): no vertex buffer, no attribute. moderngl caches no program or vertex-array binding between
its calls (its render binds its own each time), so tfgl's glUseProgram/glBindVertexArray never
mislead it; its framebuffer.use() and texture.use() bind what tfgl's draws read and write.

Entry points come from the context's own proc-address function: eglGetProcAddress (libEGL.so.1, the
library glcontext loaded; Mesa and glvnd return core functions too) or glfw.get_proc_address.
"""
from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.errors import GLError

GL_FRAGMENT_SHADER = 0x8B30
GL_VERTEX_SHADER = 0x8B31
GL_COMPILE_STATUS = 0x8B81
GL_LINK_STATUS = 0x8B82
GL_INFO_LOG_LENGTH = 0x8B84
GL_ACTIVE_UNIFORMS = 0x8B86
GL_PROGRAM_BINARY_LENGTH = 0x8741
GL_PROGRAM_BINARY_RETRIEVABLE_HINT = 0x8257
GL_NUM_PROGRAM_BINARY_FORMATS = 0x87FE
GL_TRIANGLES = 0x0004
GL_FRAMEBUFFER = 0x8D40
GL_TEXTURE0 = 0x84C0
GL_TEXTURE_2D = 0x0DE1

_int, _uint, _ptr = ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
_intp, _charp = ctypes.POINTER(ctypes.c_int), ctypes.c_char_p
_SIGNATURES: dict[str, tuple] = {
    "glCreateShader": (_uint, _uint),
    "glShaderSource": (None, _uint, _int, ctypes.POINTER(_charp), _intp),
    "glCompileShader": (None, _uint),
    "glGetShaderiv": (None, _uint, _uint, _intp),
    "glGetShaderInfoLog": (None, _uint, _int, _intp, _charp),
    "glDeleteShader": (None, _uint),
    "glCreateProgram": (_uint,),
    "glAttachShader": (None, _uint, _uint),
    "glDetachShader": (None, _uint, _uint),
    "glLinkProgram": (None, _uint),
    "glGetProgramiv": (None, _uint, _uint, _intp),
    "glGetProgramInfoLog": (None, _uint, _int, _intp, _charp),
    "glDeleteProgram": (None, _uint),
    "glProgramParameteri": (None, _uint, _uint, _int),
    "glGetProgramBinary": (None, _uint, _int, _intp, ctypes.POINTER(_uint), _ptr),
    "glProgramBinary": (None, _uint, _uint, _ptr, _int),
    "glGetIntegerv": (None, _uint, _intp),
    "glGetError": (_uint,),
    "glGetActiveUniform": (None, _uint, _uint, _int, _intp, _intp, ctypes.POINTER(_uint), _charp),
    "glGetUniformLocation": (_int, _uint, _charp),
    "glUseProgram": (None, _uint),
    "glGenVertexArrays": (None, _int, ctypes.POINTER(_uint)),
    "glBindVertexArray": (None, _uint),
    "glDrawArrays": (None, _uint, _int, _int),
    # what replays bind themselves (engine/webgl/replay.py), without moderngl's per-call extras
    "glBindFramebuffer": (None, _uint, _uint),
    "glViewport": (None, _int, _int, _int, _int),
    "glActiveTexture": (None, _uint),
    "glBindTexture": (None, _uint, _uint),
    **{f"glUniform{n}{kind}v": (None, _int, _int, ctypes.POINTER(ctype))
       for n in (1, 2, 3, 4) for kind, ctype in (("f", ctypes.c_float), ("i", _int), ("ui", _uint))},
}

# The draw path's entry points (every draw, replayed or not) get no declared argument types: they
# take Python ints and ctypes arrays only, which ctypes passes as C int and pointer by its default
# rules, while a declared type costs a from_param call per argument: 40% of a replayed draw's host
# time over Mesa's no-op driver (MobileNetV2, 4.4 -> 2.6 µs). Their signatures above stay as the C
# types they take. A numpy integer there raises ctypes.ArgumentError: callers pass Python ints.
_DRAW_PATH = frozenset({"glUseProgram", "glBindVertexArray", "glDrawArrays", "glBindFramebuffer", "glViewport",
                        "glActiveTexture", "glBindTexture", "glBindTextures",
                        *(name for name in _SIGNATURES if name.startswith("glUniform"))})

# GLSL uniform type -> (glUniform*v suffix, components); anything else (samplers) is one int.
_TYPES = {0x1406: ("f", 1), 0x8B50: ("f", 2), 0x8B51: ("f", 3), 0x8B52: ("f", 4),
          0x1404: ("i", 1), 0x8B53: ("i", 2), 0x8B54: ("i", 3), 0x8B55: ("i", 4),
          0x8B56: ("i", 1), 0x8B57: ("i", 2), 0x8B58: ("i", 3), 0x8B59: ("i", 4),
          0x1405: ("ui", 1), 0x8DC6: ("ui", 2), 0x8DC7: ("ui", 3), 0x8DC8: ("ui", 4)}
_CTYPES = {"f": ctypes.c_float, "i": _int, "ui": _uint}


def proc_address_loader(kind: str) -> Callable[[str], int]:
    """name -> address of a GL function for a context made by `kind` (egl or glfw)."""
    if kind == "glfw":
        import glfw
        return lambda name: glfw.get_proc_address(name) or 0
    try:
        egl = ctypes.CDLL("libEGL.so.1")
    except OSError:
        egl = ctypes.CDLL("libEGL.so")
    get = egl.eglGetProcAddress
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    return lambda name: get(name.encode()) or 0


@dataclass(frozen=True)
class Uniform:
    """An active uniform of a linked program: where it is, its glUniform*v setter, its components
    per element and how many elements the linked program kept (the compiler may shorten an array
    whose tail is never read)."""

    location: int
    setter: Callable
    kind: str
    components: int
    length: int

    def bound(self, value) -> tuple[Callable, int, int, object]:
        """(setter, location, count, ctypes array): the call that sets `value`, made once here so a
        draw does only the GL call."""
        flat = list(_flatten(value))[:self.components * self.length]
        count = max(1, len(flat) // self.components)
        return self.setter, self.location, count, (_CTYPES[self.kind] * len(flat))(*flat)


def _flatten(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


class GL:
    """The GL entry points tfgl's own program objects need, for the context current when made.
    `BindTextures` (GL 4.4's multi-bind: a draw's textures in one call) is None where the context
    lacks it."""

    def __init__(self, proc_address: Callable[[str], int], multi_bind: bool = False):
        for name, (restype, *argtypes) in _SIGNATURES.items():
            address = proc_address(name)
            if not address:
                raise GLError(f"the GL driver has no {name}")
            prototype = ctypes.CFUNCTYPE(restype) if name in _DRAW_PATH else ctypes.CFUNCTYPE(restype, *argtypes)
            setattr(self, name[2:], prototype(address))
        # Drivers hand out entry points for functions the context may not support: ask the context.
        # glBindTextures(GLuint first, GLsizei count, const GLuint *textures)
        address = proc_address("glBindTextures") if multi_bind else 0
        self.BindTextures = ctypes.CFUNCTYPE(None)(address) if address else None
        vao = _uint()
        self.GenVertexArrays(1, ctypes.byref(vao))
        self.empty_vao = vao.value
        self.binary_formats = self.integer(GL_NUM_PROGRAM_BINARY_FORMATS)

    def integer(self, name: int) -> int:
        value = _int()
        self.GetIntegerv(name, ctypes.byref(value))
        return value.value

    # -- building -------------------------------------------------------------------------------------
    def compile(self, vertex: str, fragment: str) -> int:
        """A linked program from source (binary retrievable), or GLError with the driver's log."""
        shaders = [self._shader(GL_VERTEX_SHADER, vertex), self._shader(GL_FRAGMENT_SHADER, fragment)]
        program = self.CreateProgram()
        if self.binary_formats:
            self.ProgramParameteri(program, GL_PROGRAM_BINARY_RETRIEVABLE_HINT, 1)
        for shader in shaders:
            self.AttachShader(program, shader)
        self.LinkProgram(program)
        for shader in shaders:
            self.DetachShader(program, shader)
            self.DeleteShader(shader)
        if not self._status(program, GL_LINK_STATUS):
            log = self._log(self.GetProgramiv, self.GetProgramInfoLog, program)
            self.DeleteProgram(program)
            raise GLError(f"link failed: {log}")
        return program

    def _shader(self, kind: int, source: str) -> int:
        shader = self.CreateShader(kind)
        text = _charp(source.encode())
        self.ShaderSource(shader, 1, ctypes.byref(text), None)
        self.CompileShader(shader)
        value = _int()
        self.GetShaderiv(shader, GL_COMPILE_STATUS, ctypes.byref(value))
        if not value.value:
            log = self._log(self.GetShaderiv, self.GetShaderInfoLog, shader)
            self.DeleteShader(shader)
            name = "vertex" if kind == GL_VERTEX_SHADER else "fragment"
            raise GLError(f"{name} shader: {log}")
        return shader

    def _status(self, program: int, name: int) -> bool:
        value = _int()
        self.GetProgramiv(program, name, ctypes.byref(value))
        return bool(value.value)

    @staticmethod
    def _log(get_iv, get_log, handle: int) -> str:
        length = _int()
        get_iv(handle, GL_INFO_LOG_LENGTH, ctypes.byref(length))
        buffer = ctypes.create_string_buffer(max(1, length.value))
        get_log(handle, len(buffer), None, buffer)
        return buffer.value.decode(errors="replace").strip()

    def binary(self, program: int) -> tuple[int, bytes] | None:
        """(format, bytes) of a linked program; None when the driver offers no binary formats (Mesa
        offers none when its disk cache is off)."""
        if not self.binary_formats:
            return None
        length = _int()
        self.GetProgramiv(program, GL_PROGRAM_BINARY_LENGTH, ctypes.byref(length))
        if length.value <= 0:
            return None
        buffer = ctypes.create_string_buffer(length.value)
        written, binary_format = _int(), _uint()
        self.GetProgramBinary(program, length.value, ctypes.byref(written), ctypes.byref(binary_format), buffer)
        return (binary_format.value, buffer.raw[:written.value]) if written.value > 0 else None

    def load(self, binary_format: int, data: bytes) -> int | None:
        """A program from a binary, or None when the driver rejects it (a driver update makes old
        binaries invalid: GL_LINK_STATUS says so)."""
        program = self.CreateProgram()
        self.ProgramBinary(program, binary_format, data, len(data))
        if self._status(program, GL_LINK_STATUS):
            return program
        self.DeleteProgram(program)
        # A format the driver no longer lists sets GL_INVALID_ENUM: the rejection is handled here,
        # and must not surface as the run's error at its next check.
        while self.GetError():
            pass
        return None

    def uniforms(self, program: int) -> dict[str, Uniform]:
        """The program's active uniforms by name (an array under its name without '[0]')."""
        found = {}
        name = ctypes.create_string_buffer(256)
        size, kind = _int(), _uint()
        for index in range(self._count(program)):
            self.GetActiveUniform(program, index, len(name), None, ctypes.byref(size), ctypes.byref(kind), name)
            text = name.value.decode()
            base = text[:-3] if text.endswith("[0]") else text
            suffix, components = _TYPES.get(kind.value, ("i", 1))
            location = self.GetUniformLocation(program, text.encode())
            if location >= 0:
                setter = getattr(self, f"Uniform{components}{suffix}v")
                found[base] = Uniform(location, setter, suffix, components, size.value)
        return found

    def _count(self, program: int) -> int:
        value = _int()
        self.GetProgramiv(program, GL_ACTIVE_UNIFORMS, ctypes.byref(value))
        return value.value

    def set_samplers(self, program: int, uniforms: dict[str, Uniform], names: Sequence[str]) -> None:
        """Texture unit i for the i-th sampler name (a sampler the compiler dropped is skipped)."""
        self.UseProgram(program)
        for unit, name in enumerate(names):
            if name in uniforms:
                self.Uniform1iv(uniforms[name].location, 1, (_int * 1)(unit))
