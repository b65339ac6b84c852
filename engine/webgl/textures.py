"""Tensor storage in float textures: logical shape -> texture shape, texel packing, and a tensor's
texture (GLTensorData). The pool that recycles textures by size is texture_pool.py.

Two layouts, as TF.js's WebGL backend: unpacked (one value per R32F texel, row-major) and packed
(WEBGL_PACK: a 2x2 block of the last two dims per RGBA32F texel). A packed tensor of shape
(..., R, C) is B = prod(...) matrices of ceil(R/2) x ceil(C/2) texels, texel t = (b * TR + r/2) * TC
+ c/2 at (t % cols, t / cols); components x, y, z, w hold (r, c), (r, c+1), (r+1, c), (r+1, c+1).
Components past R or C are zero, so products may run over them. The webgl-fp16 backend's programs draw
into R16F/RGBA16F textures instead (half_float.py); uploads are float32 everywhere.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np

# The dtypes a texture holds (as floats; int32 and bool are rounded on download). Strings and
# complex64 stay on the CPU; complex64 as two float textures, its real and imaginary parts.
GL_DTYPES = frozenset({"float32", "int32", "bool"})
FLOAT_EXACT = 1 << 24  # the integers a float texel holds exactly: int32 values and indices below it


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


def packed_geometry(shape: Sequence[int]) -> tuple[int, int, int]:
    """(batch, rows, cols) of the matrices a packed tensor is made of; rank 0 and 1 are one row."""
    shape = tuple(shape)
    if len(shape) < 2:
        return 1, 1, (shape[0] if shape else 1)
    return math.prod(shape[:-2]), shape[-2], shape[-1]


def same_packing(a: Sequence[int], b: Sequence[int]) -> bool:
    """Whether tensors of shapes a and b (same size) put every value at the same packed texel and
    component, so a reshape between them moves nothing (TF.js's isReshapeFree)."""
    _, rows_a, cols_a = packed_geometry(a)
    _, rows_b, cols_b = packed_geometry(b)
    return cols_a == cols_b and (rows_a == rows_b or (rows_a % 2 == 0 and rows_b % 2 == 0))


def packed_texels(shape: Sequence[int]) -> tuple[int, int, int]:
    """(batch, texel rows per matrix, texel cols per matrix) of a packed tensor."""
    batch, rows, cols = packed_geometry(shape)
    return batch, (rows + 1) // 2, (cols + 1) // 2


def packed_texture_shape(shape: Sequence[int], max_size: int) -> tuple[int, int]:
    """(rows, cols) of the RGBA32F texture holding a packed tensor: (B * TR, TC) when it fits."""
    batch, tr, tc = packed_texels(shape)
    if math.prod(shape) == 0:
        return 1, 1
    if batch * tr <= max_size and tc <= max_size:
        return batch * tr, tc
    rows, cols = squarish(batch * tr * tc)
    if rows > max_size or cols > max_size:
        raise ValueError(f"a packed tensor of shape {list(shape)} does not fit a {max_size}x{max_size} texture")
    return rows, cols


def pack_values(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Host values -> the RGBA texels of their packed texture (rows x cols x 4, zero padded)."""
    batch, r, c = packed_geometry(values.shape)
    tr, tc = (r + 1) // 2, (c + 1) // 2
    out = np.zeros(rows * cols * 4, np.float32)
    # One strided copy per row parity, straight into place: texel components are (row parity, col parity).
    # A row's (col, col + 1) pair moves as one 8-byte word: numpy copies those ~3x faster than float pairs.
    texels = out[:batch * tr * tc * 4].reshape(batch, tr, tc, 2, 2)
    words = texels.reshape(batch, tr, tc, 4).view(np.uint64)  # [..., row parity]: that row's column pair
    matrices = np.ascontiguousarray(values, np.float32).reshape(batch, r, c)
    pairs = c // 2
    for parity in (0, 1):
        half = matrices[:, parity::2]
        filled = half.shape[1]
        if pairs:
            words[:, :filled, :pairs, parity] = half[:, :, :2 * pairs].view(np.uint64)
        if c % 2:
            texels[:, :filled, pairs, parity, 0] = half[:, :, c - 1]
    return out


def texels_of(values: np.ndarray, rows: int, cols: int, packed: bool) -> np.ndarray:
    """Host values as the float32 texels of their rows x cols texture, zero padded (packed: pack_values)."""
    if packed:
        return pack_values(values, rows, cols)
    flat = np.zeros(rows * cols, np.float32)
    flat[:values.size] = values.reshape(-1)
    return flat


def unpack_values(raw: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The inverse of pack_values: the flat row-major values of a packed texture's tensor."""
    batch, r, c = packed_geometry(shape)
    tr, tc = (r + 1) // 2, (c + 1) // 2
    blocks = raw[:batch * tr * tc * 4].reshape(batch, tr, tc, 2, 2).transpose(0, 1, 3, 2, 4)
    return blocks.reshape(batch, tr * 2, tc * 2)[:, :r, :c].reshape(-1)


def decode_texels(raw: np.ndarray, packed_shape, size: int, dtype: str) -> np.ndarray:
    """A texture's float texels as the flat values of its tensor, in its storage dtype."""
    flat = unpack_values(raw, packed_shape) if packed_shape is not None else raw[:size]
    if dtype == "int32":
        # in float64: float32 has no 2**31 - 1, and the bound rounded to 2**31 would wrap to -2**31
        return np.clip(np.rint(flat.astype(np.float64)), -2**31, 2**31 - 1).astype(np.int32)
    if dtype == "bool":
        return flat != 0
    return flat.copy()


def is_power_of_two(n: int) -> bool:
    return n & (n - 1) == 0


def padded_side(n: int, max_size: int) -> int:
    """A texture side of n texels as allocated: never a power of two where it fits. llvmpipe compiles a
    shader once per combination of its textures' sides being powers of two or not (one JIT of tens of
    milliseconds each, on the drawing thread), so a shape-generic program met those combinations across
    a model; with every side a non-power of two it compiles once. The texels past n are never read or
    drawn (framebuffers' viewports cover n): one more row or column (under 1% from 128 texels up), two
    more where a side is 1 texel (a vector's one-row texture takes three times its size)."""
    padded = 3 if n == 1 else n + 1 if is_power_of_two(n) else n
    return padded if padded <= max_size else n


def write_texels(texture, data) -> None:
    """Writes a texture's `rows x cols` texels (its allocated sides may be larger: padded_side)."""
    cols, rows = texture.extra
    texture.write(data, viewport=(0, 0, cols, rows))


def read_texels(texture) -> np.ndarray:
    """A texture's `rows x cols` texels as float32 (half floats widened), flat, without the padding past them."""
    cols, rows = texture.extra
    raw = np.frombuffer(texture.read(), NUMPY_OF_TEXTURE[texture.dtype])
    width, height = texture.size
    if (width, height) != (cols, rows):
        channels = texture.components
        raw = raw.reshape(height, width * channels)[:rows, :cols * channels].reshape(-1)
    return raw.astype(np.float32, copy=False)


# moderngl's texture dtypes: float32 (uploads, and outputs of float32 storage) and half (webgl-fp16's outputs).
NUMPY_OF_TEXTURE = {"f4": np.float32, "f2": np.float16}


class GLTensorData:
    """A tensor's values in a texture, shared (with a reference count) by tensors that alias it."""

    __slots__ = ("backend", "pool", "texture", "rows", "cols", "size", "dtype", "packed_shape", "twins", "_refs",
                 "_lock", "__weakref__")

    def __init__(self, backend, texture, rows: int, cols: int, size: int, dtype: str,
                 packed_shape: tuple[int, ...] | None = None):
        self.backend = backend
        self.pool = backend.textures  # the pool it came from (a recording has its own)
        self.texture = texture
        self.rows, self.cols, self.size, self.dtype = rows, cols, size, dtype
        self.packed_shape = packed_shape  # the shape it was packed for; None when unpacked
        self.twins: dict = {}             # the same values in another layout, made on demand
        self._refs = 1
        self._lock = threading.Lock()

    @property
    def packed(self) -> bool:
        return self.packed_shape is not None

    def retain(self) -> None:
        with self._lock:
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            last = self._refs == 0
        if last and self.texture is not None:
            texture, self.texture = self.texture, None
            self.pool.release(texture)
            twins, self.twins = self.twins, {}
            for twin in twins.values():
                twin.release()

    def download(self) -> np.ndarray:
        return self.backend.download(self)


class ComplexGLData:
    """A complex64 tensor on the GPU, as TF.js keeps one: its real and imaginary parts in two float
    textures. Holds a reference on both parts."""

    __slots__ = ("backend", "real", "imag", "__weakref__")

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
