"""Tensor storage in float textures: logical shape -> texture shape, and a manager that recycles
textures by (width, height, channels) instead of allocating one per tensor."""
from __future__ import annotations

import math
import threading
from collections import defaultdict
from typing import Sequence

import numpy as np


def squeeze_shape(shape: Sequence[int]) -> list[int]:
    return [d for d in shape if d != 1]


def squarish(size: int) -> tuple[int, int]:
    """(rows, cols) close to square with rows * cols >= size."""
    cols = max(1, math.ceil(math.sqrt(size)))
    return max(1, math.ceil(size / cols)), cols


def texture_shape(shape: Sequence[int], max_size: int) -> tuple[int, int]:
    """(rows, cols) of the R32F texture holding a tensor of `shape`, row-major, one value per texel.

    As TF.js: rank 2 maps straight to rows x cols; other ranks drop unit dimensions, then fold
    leading or trailing dimensions together while both sides fit; otherwise a near-square texture.
    """
    shape = list(shape)
    if len(shape) != 2:
        shape = squeeze_shape(shape)
    size = math.prod(shape)
    if size == 0:
        return 1, 1
    candidates: list[tuple[int, int]] = []
    if len(shape) <= 1:
        candidates.append((1, size))
    elif len(shape) == 2:
        candidates.append((shape[0], shape[1]))
    elif len(shape) in (3, 4):
        for split in (len(shape) - 1, 1):
            candidates.append((math.prod(shape[:split]), math.prod(shape[split:])))
    for rows, cols in candidates:
        if rows <= max_size and cols <= max_size:
            return rows, cols
    rows, cols = squarish(size)
    if rows > max_size or cols > max_size:
        raise ValueError(f"a tensor of {size} values does not fit a {max_size}x{max_size} texture")
    return rows, cols


class TextureManager:
    """Owns every texture of one GL context. `acquire` reuses a free texture of the same size."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._free: dict[tuple[int, int, int], list] = defaultdict(list)
        self._lock = threading.Lock()
        self.in_use = 0
        self.bytes_in_use = 0
        self.bytes_free = 0
        self.created = 0

    def acquire(self, rows: int, cols: int, channels: int = 1):
        key = (cols, rows, channels)
        nbytes = rows * cols * channels * 4
        with self._lock:
            free = self._free.get(key)
            if free:
                texture = free.pop()
                self.bytes_free -= nbytes
            else:
                texture = None
            self.in_use += 1
            self.bytes_in_use += nbytes
        if texture is None:
            texture = self.ctx.texture((cols, rows), channels, dtype="f4")  # read with texelFetch: no filtering
            self.created += 1
        return texture

    def release(self, texture) -> None:
        """Returns a texture to the pool. Makes no GL call, so any thread (or a finalizer) may call it."""
        cols, rows = texture.size
        key = (cols, rows, texture.components)
        nbytes = rows * cols * texture.components * 4
        with self._lock:
            self._free[key].append(texture)
            self.in_use -= 1
            self.bytes_in_use -= nbytes
            self.bytes_free += nbytes

    def textures_alive(self) -> int:
        return self.in_use + sum(len(v) for v in self._free.values())


class GLTensorData:
    """A tensor's values in a texture, shared (with a reference count) by tensors that alias it."""

    __slots__ = ("backend", "texture", "rows", "cols", "size", "dtype", "_refs", "_lock")

    def __init__(self, backend, texture, rows: int, cols: int, size: int, dtype: str):
        self.backend = backend
        self.texture = texture
        self.rows, self.cols, self.size, self.dtype = rows, cols, size, dtype
        self._refs = 1
        self._lock = threading.Lock()

    def retain(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            last = self._refs == 0
        if last and self.texture is not None:
            texture, self.texture = self.texture, None
            self.backend.textures.release(texture)

    def download(self) -> np.ndarray:
        return self.backend.download(self)


class ComplexGLData:
    """A complex64 tensor on the GPU, as TF.js keeps one: its real and imaginary parts in two float
    textures. Holds a reference on both parts."""

    __slots__ = ("backend", "real", "imag")

    def __init__(self, real: GLTensorData, imag: GLTensorData):
        self.backend, self.real, self.imag = real.backend, real, imag

    def retain(self) -> None:
        self.real.retain()
        self.imag.retain()

    def release(self) -> None:
        self.real.release()
        self.imag.release()

    def download(self) -> np.ndarray:
        out = np.empty(self.real.size, np.complex64)
        out.real, out.imag = self.real.download(), self.imag.download()  # placed, so inf parts stay inf
        return out
