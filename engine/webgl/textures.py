"""Tensor storage in float textures: logical shape -> texture shape, and a manager that recycles
textures by (width, height, channels) instead of allocating one per tensor.

Two layouts, as TF.js's WebGL backend: unpacked (one value per R32F texel, row-major) and packed
(WEBGL_PACK: a 2x2 block of the last two dims per RGBA32F texel). A packed tensor of shape
(..., R, C) is B = prod(...) matrices of ceil(R/2) x ceil(C/2) texels, texel t = (b * TR + r/2) * TC
+ c/2 at (t % cols, t / cols); components x, y, z, w hold (r, c), (r, c+1), (r+1, c), (r+1, c+1).
Components past R or C are zero, so products may run over them. The webgl-fp16 backend's programs draw
into R16F/RGBA16F textures instead (half_float.py); uploads are float32 everywhere.
"""
from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Mapping, Sequence

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
    raw = np.frombuffer(texture.read(), _NUMPY_OF_TEXTURE[texture.dtype])
    width, height = texture.size
    if (width, height) != (cols, rows):
        channels = texture.components
        raw = raw.reshape(height, width * channels)[:rows, :cols * channels].reshape(-1)
    return raw.astype(np.float32, copy=False)


POOL_VARIABLE = "TFGL_TEXTURE_POOL_MB"
DEFAULT_POOL_MB = 512


def free_texture_limit(environ: Mapping[str, str] = os.environ) -> int:
    """Bytes of free textures a backend keeps for reuse: TFGL_TEXTURE_POOL_MB (default 512; 0 keeps
    none). The bench models free at most 70 MB a call, so their steady calls never evict."""
    text = environ.get(POOL_VARIABLE, "").strip()
    if text.isdigit():
        return int(text) << 20
    if text:
        warnings.warn(f"tfgl: {POOL_VARIABLE} must be a whole number of megabytes, not {text!r}; using "
                      f"{DEFAULT_POOL_MB}", RuntimeWarning, stacklevel=2)
    return DEFAULT_POOL_MB << 20


# moderngl's texture dtypes: float32 (uploads, and outputs of float32 storage) and half (webgl-fp16's outputs).
_NUMPY_OF_TEXTURE = {"f4": np.float32, "f2": np.float16}


def texture_bytes(cols: int, rows: int, channels: int, dtype: str) -> int:
    return rows * cols * channels * np.dtype(_NUMPY_OF_TEXTURE[dtype]).itemsize


class TextureManager:
    """Owns every texture of one GL context. `acquire` reuses a free texture of the same size and
    dtype. A texture's `extra` holds the (cols, rows) it was acquired for (write_texels, read_texels).
    A pool with a `lender` (a recording's, whose lender is the backend's pool) takes the lender's free
    textures before it makes new ones: those the call before it used and freed, already allocated and
    written (llvmpipe pays for both on a texture's first use).

    A pool with a `free_limit` (the backend's own) keeps at most that many bytes of free textures:
    calls with ever new shapes would otherwise leave textures of every size behind. The sizes freed
    into longest ago go first, into `evicted`, which the backend deletes at its next GL section
    (take_evicted): release() makes no GL call."""

    def __init__(self, ctx, lender: TextureManager | None = None, free_limit: int | None = None):
        self.ctx = ctx
        self.lender = lender
        self.free_limit = free_limit
        self.max_size = int(ctx.info["GL_MAX_TEXTURE_SIZE"])
        self.forward_to: TextureManager | None = None  # set once merged into another pool
        # free textures by key, the key freed into longest ago first; no key without one
        self._free: dict[tuple[int, int, int, str], list] = {}
        self.evicted: list = []
        self._lock = threading.RLock()
        self._busy = False   # a change under way on the thread holding the lock
        self._queued: list = []  # changes that came in during it (see _serially)
        self.in_use = 0
        self.bytes_in_use = 0
        self.bytes_free = 0
        self.created = 0

    def _serially(self, change, *args):
        """change(*args) with the lock held. A garbage collection during a change may finalize a tensor
        (or a plan) that releases into this pool on the same thread: that change waits in `_queued`
        until the one under way ends, so no change sees the pool half made."""
        with self._lock:
            if self._busy:
                self._queued.append((change, args))
                return None
            self._busy = True
            try:
                result = change(*args)
                while self._queued:
                    queued, queued_args = self._queued.pop(0)
                    queued(*queued_args)
                return result
            finally:
                self._busy = False

    def acquire(self, rows: int, cols: int, channels: int = 1, dtype: str = "f4"):
        key = (cols, rows, channels, dtype)
        nbytes = texture_bytes(cols, rows, channels, dtype)
        texture = self._serially(self._acquired, key, nbytes)
        if texture is None and self.lender is not None:
            texture = self.lender.lend(key, nbytes)
        return self._make(key) if texture is None else texture

    def _acquired(self, key: tuple[int, int, int, str], nbytes: int):
        self.in_use += 1
        self.bytes_in_use += nbytes
        return self._take(key, nbytes)

    def _make(self, key: tuple[int, int, int, str]):
        cols, rows, channels, dtype = key
        texture = self.ctx.texture(self.allocated_size(cols, rows), channels, dtype=dtype)  # read by texelFetch
        texture.extra = (cols, rows)
        self.created += 1
        return texture

    def reserve(self, counts: dict[tuple[int, int, int, str], int]) -> None:
        """Makes free textures until each (cols, rows, channels, dtype) key has `counts[key]`: those a
        warm-up found the first call will hold at once, made ahead so that the call allocates none
        (llvmpipe zero-fills a texture's memory when it makes it). Never past free_limit: they would
        only be evicted."""
        for key, count in counts.items():
            for _ in range(count - len(self._free.get(key, ()))):
                if self.free_limit is not None and self.bytes_free + texture_bytes(*key) > self.free_limit:
                    break
                self.adopt(self._make(key))

    def lend(self, key: tuple[int, int, int, str], nbytes: int):
        """A free texture of this key, no longer this pool's (None if there is none)."""
        return self._serially(self._take, key, nbytes)

    def _take(self, key: tuple[int, int, int, str], nbytes: int):
        free = self._free.get(key)
        if not free:
            return None
        texture = free.pop()
        if not free:
            del self._free[key]
        self.bytes_free -= nbytes
        return texture

    def _put(self, key: tuple[int, int, int, str], texture) -> None:
        """Into the free textures, its key now the one freed into last; then evicts the oldest past
        free_limit."""
        free = self._free.pop(key, None) or []
        free.append(texture)
        self._free[key] = free
        self.bytes_free += texture_bytes(*key)
        self._evict_past_limit()

    def _evict_past_limit(self) -> None:
        if self.free_limit is None:
            return
        while self.bytes_free > self.free_limit and self._free:
            oldest = next(iter(self._free))
            free = self._free[oldest]
            self.evicted.append(free.pop(0))
            if not free:
                del self._free[oldest]
            self.bytes_free -= texture_bytes(*oldest)

    def take_evicted(self) -> list:
        """The textures eviction took out of the pool, for their owner to delete."""
        return self._serially(self._take_evicted)

    def _take_evicted(self) -> list:
        doomed, self.evicted = self.evicted, []
        return doomed

    def allocated_size(self, cols: int, rows: int) -> tuple[int, int]:
        return padded_side(cols, self.max_size), padded_side(rows, self.max_size)

    def release(self, texture) -> None:
        """Returns a texture to the pool. Makes no GL call, so any thread (or a finalizer) may call it."""
        self._serially(self._released, texture)

    def _released(self, texture) -> None:
        key = texture_key(texture)
        self.in_use -= 1
        self.bytes_in_use -= texture_bytes(*key)
        if self.forward_to is not None:
            self.forward_to.adopt(texture)
        else:
            self._put(key, texture)

    def adopt(self, texture) -> None:
        """Takes a texture another pool made into this pool's free list."""
        self._serially(self._put, texture_key(texture), texture)

    def merge_into(self, other: TextureManager) -> None:
        """Hands every free texture to `other`, as freed before any of its own (a dropped plan's:
        those of the shapes in use stay longer); textures still in use go there when released."""
        self._serially(self._hand_over, other)

    def _hand_over(self, other: TextureManager) -> None:
        free, self._free = self._free, {}
        self.forward_to = other
        self.bytes_free = 0
        other._serially(other._adopt_as_oldest, free)

    def _adopt_as_oldest(self, free: dict) -> None:
        for key, textures in free.items():
            self.bytes_free += texture_bytes(*key) * len(textures)
            free[key] = textures + self._free.pop(key, [])
        self._free = {**free, **self._free}
        self._evict_past_limit()

    def textures_alive(self) -> int:
        return self.in_use + len(self.evicted) + sum(len(v) for v in self._free.values())


def texture_key(texture) -> tuple[int, int, int, str]:
    """(cols, rows, channels, dtype): which acquire() calls a texture can serve."""
    return (*texture.extra, texture.components, texture.dtype)


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
