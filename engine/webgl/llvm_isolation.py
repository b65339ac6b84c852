"""Keeping Mesa's LLVM and TensorFlow's LLVM apart in one process.

Mesa's llvmpipe driver links the system libLLVM; TensorFlow carries its own LLVM and loads it with
RTLD_GLOBAL. Whichever comes second binds to the other's LLVM symbols and crashes (at import, or
at the first shader JIT). Loading the second one with RTLD_DEEPBIND makes it resolve its own LLVM
first, so tfgl does that in both orders:

- TensorFlow already imported: preload Mesa's driver with RTLD_DEEPBIND before making the context;
- context first (llvmpipe): a one-shot import hook loads `tensorflow` with RTLD_DEEPBIND.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.abc
import os
import sys

MESA_DRIVERS = ("/usr/lib/*-linux-gnu/dri/swrast_dri.so", "/usr/lib*/dri/swrast_dri.so",
                "/usr/lib/*-linux-gnu/libgallium-*.so", "/usr/lib*/libgallium-*.so")
_preloaded: list = []


def _deepbind_flag() -> int:
    return getattr(os, "RTLD_DEEPBIND", 0)


def before_context() -> None:
    """Call before creating a GL context."""
    if "tensorflow" not in sys.modules or not _deepbind_flag() or _preloaded:
        return
    for pattern in MESA_DRIVERS:
        for path in sorted(glob.glob(pattern)):
            try:
                _preloaded.append(ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL | _deepbind_flag()))
            except OSError:
                continue


def after_context(renderer: str) -> None:
    """Call once a context exists; `renderer` is its GL_RENDERER string."""
    if "llvmpipe" not in renderer.lower() or "tensorflow" in sys.modules or not _deepbind_flag():
        return
    if not any(isinstance(finder, _DeepBindTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeepBindTensorFlow())


class _DeepBindTensorFlow(importlib.abc.MetaPathFinder):
    """Imports the `tensorflow` package (and the native libraries it loads) with RTLD_DEEPBIND."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        try:
            from importlib.util import find_spec
            spec = find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _DeepBindLoader(spec.loader)
        sys.meta_path.remove(self)
        return spec


class _DeepBindLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | _deepbind_flag())
        try:
            self.loader.exec_module(module)
        finally:
            sys.setdlopenflags(flags)
