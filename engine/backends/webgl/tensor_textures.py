"""Where a tensor's values are on the WebGL backend: its texture in the layout a kernel asks for,
uploaded on first use, with a twin made once in the other layout (packed: four values a texel, TF.js's
WEBGL_PACK), and downloads. A compile-only run's uploads and twins are its own (dry_run.py), so it
leaves none behind, but for a warm-up's weights, uploaded as a first call would.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from engine.tensors import Tensor
from engine.webgl import host_steps
from engine.webgl.compiler import Layout
from engine.webgl.program import CPUFallback, Program
from engine.webgl.texture_pool import TextureManager
from engine.webgl.textures import (
    GL_DTYPES, ComplexGLData, GLTensorData, decode_texels, packed_geometry, packed_texture_shape, read_texels,
    same_packing, texels_of, texture_shape, write_texels,
)

if TYPE_CHECKING:
    from engine.backends.webgl.dry_run import DryRun
    from engine.webgl.programs import Stats
    from engine.webgl.replay import Recorder

# Paths spelled out so that grepping a shader's path finds the code that runs it.
_RELAYOUT_SHADERS = {"pack": "templates/pack.glsl", "unpack": "templates/unpack.glsl"}


def alive(items: weakref.WeakSet) -> list:
    """A WeakSet's members (recorded plans, their pools): a garbage collection on another thread may
    drop one while they are copied."""
    while True:
        try:
            return list(items)
        except RuntimeError:  # "set changed size during iteration"
            continue


class _DeviceCache:
    """Textures this backend uploaded for tensors whose own device data belongs elsewhere (another
    thread's GPU, a recording's host value), by that device data: the tensor's aliases share it, so a
    kernel's view of a weight uploaded on another thread finds this backend's upload, every call."""

    def __init__(self):
        self._by_data: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # -> (upload, its finalizer)

    def get(self, tensor: Tensor) -> GLTensorData | None:
        device = tensor.device_data
        entry = None if device is None else self._by_data.get(device)
        return None if entry is None else entry[0]

    def put(self, tensor: Tensor, data: GLTensorData) -> None:
        self._by_data[tensor.device_data] = (data, weakref.finalize(tensor.device_data, data.release))

    def clear(self) -> None:
        """Forgets every upload: the finalizers would otherwise hold them (and their backend) as long
        as the tensors live (a model's weights: as long as the model)."""
        for _, finalizer in list(self._by_data.values()):
            finalizer.detach()
        self._by_data.clear()


class TensorTextures:
    """The WebGL backend's tensor storage, mixed into WebGLBackend, which draws the layout changes
    (`_draw`), makes its GL context current (`current`) and checks it for errors (`check_error`)."""

    textures: TextureManager      # the pool new textures come from (a dry run's or a recording's own)
    replay_pools: weakref.WeakSet  # the recorded plans' pools, while their plans live
    max_texture_size: int
    stats: Stats
    recorder: Recorder | None     # the call being recorded for replays (replay.py)
    _dry: DryRun | None           # the compile-only run under way

    def __init__(self):
        super().__init__()
        self._uploads = _DeviceCache()

    def on_gpu(self, tensor: Tensor) -> bool:
        data = tensor.device_data
        if isinstance(data, (GLTensorData, ComplexGLData)) and data.backend is self:
            return True
        return self._uploaded(tensor) is not None

    def _uploaded(self, tensor: Tensor):
        """What this backend uploaded for a tensor that does not hold it itself (a dry run's own first)."""
        if self._dry is not None:
            entry = self._dry.uploads.get(id(tensor))
            if entry is not None:
                return entry[1]
        return self._uploads.get(tensor)

    def _keep_upload(self, tensor: Tensor, data) -> None:
        if tensor.device_data is None:
            tensor.attach_device(data)
            if self._dry is not None:
                self._dry.attached.append((weakref.ref(tensor), data))
        elif self._dry is not None:
            self._dry.uploads[id(tensor)] = (tensor, data)
        else:
            self._uploads.put(tensor, data)

    def gl_data(self, tensor: Tensor) -> GLTensorData | None:
        data = tensor.device_data
        if isinstance(data, GLTensorData) and data.backend is self and data.texture is not None:
            return data
        cached = self._uploaded(tensor)
        return cached if isinstance(cached, GLTensorData) else None

    def complex_parts(self, tensor: Tensor) -> tuple[Tensor, Tensor]:
        """The real and imaginary parts of a complex64 tensor as float32 tensors on this GPU
        (views of its two textures; a CPU tensor is uploaded once)."""
        if tensor.dtype != "complex64":
            raise CPUFallback(f"expected a complex64 tensor, got {tensor.dtype}")
        data = tensor.device_data
        if not (isinstance(data, ComplexGLData) and data.backend is self):
            data = self._uploaded(tensor)
        if data is None:
            values = tensor.numpy()
            data = ComplexGLData(self._upload(values.real.astype(np.float32), "float32"),
                                 self._upload(values.imag.astype(np.float32), "float32"))
            self._keep_upload(tensor, data)
        parts = []
        for part in (data.real, data.imag):
            part.retain()
            parts.append(Tensor(None, "float32", tensor.shape, device=part))
        return parts[0], parts[1]

    def texture_of(self, tensor: Tensor, packed: bool = False, upload_shape: tuple[int, ...] | None = None
                   ) -> GLTensorData:
        """The tensor's texture on this backend in the layout asked for, uploading its values on first
        use (packed under `upload_shape` if given: the shape a kernel will view it as, which spares a
        weight its unpack and repack draws); a tensor stored in the other layout gets a converted twin,
        made once and kept."""
        data = self.gl_data(tensor)
        if data is not None:
            return self._in_layout(data, tensor.shape, packed)
        if tensor.dtype not in GL_DTYPES:
            raise CPUFallback(f"{tensor.dtype} tensors stay on the CPU")
        if self._dry is not None and self._dry.warmup and tensor.constant:
            return self._upload_for_real(tensor, packed, upload_shape)
        host = host_steps.host_value(self, tensor) if self.recorder is not None else None
        values = tensor.numpy() if host is None else host.values
        shape = upload_shape if packed and upload_shape else tensor.shape
        data = self._upload(values.reshape(shape), tensor.dtype, packed, record=host is None)
        if host is not None:  # a replay uploads the value its host step computes then
            host_steps.record_upload(self.recorder, host, shape, data)
        self._keep_upload(tensor, data)
        return data

    def _upload_for_real(self, tensor: Tensor, packed: bool, upload_shape: tuple[int, ...] | None) -> GLTensorData:
        """A warm-up's upload of a model's constant, kept as a real run's (into the backend's pool):
        only the layout twins it may need stay the dry run's."""
        dry = self._dry
        self.textures, self._dry = dry.real_pool, None
        try:
            return self.texture_of(tensor, packed, upload_shape)
        finally:
            self.textures, self._dry = dry.pool, dry

    def _in_layout(self, data: GLTensorData, shape: tuple[int, ...], packed: bool) -> GLTensorData:
        if not packed and not data.packed:
            return data
        if packed and data.packed and same_packing(data.packed_shape, shape):
            return data
        _, rows, cols = packed_geometry(shape)
        key = ("packed", cols, rows if rows % 2 else "even") if packed else "unpacked"
        twin = data.twins.get(key)
        if twin is not None:
            return twin
        # A dry run's twin holds one pixel of values: it must never land on long-lived data (a weight),
        # only on the dry run's own, which takes it along when released.
        twins = data.twins if self._dry is None or data.pool is self._dry.pool else self._dry.twins_of(data)
        twin = twins.get(key)
        if twin is None:
            if packed:
                twin = self._relayout(self._in_layout(data, shape, False), packed_geometry(shape), "pack")
            else:
                twin = self._relayout(data, packed_geometry(data.packed_shape), "unpack")
            twins[key] = twin
        return twin

    def _relayout(self, data: GLTensorData, geometry: tuple[int, int, int], direction: str) -> GLTensorData:
        """A pack or unpack program's copy of `data`, viewed as (batch, rows, cols) matrices."""
        program = Program(direction, (_RELAYOUT_SHADERS[direction],), ("A",), packed_inputs=direction == "unpack",
                          packed_output=direction == "pack", shape_uniforms=True, may_divide=True)
        layout = Layout(geometry, data.rows, data.cols, data.packed)
        with self.current():
            return self._draw(program, [data], (layout,), geometry, data.dtype)

    def _layout(self, shape, packed: bool = False) -> tuple[int, int]:
        try:
            return packed_texture_shape(shape, self.max_texture_size) if packed else \
                texture_shape(shape, self.max_texture_size)
        except ValueError as error:
            raise CPUFallback(str(error)) from None

    def _upload(self, values: np.ndarray, dtype: str, packed: bool = False, record: bool = True) -> GLTensorData:
        """`values` in a new texture; a recording replays the upload as it was unless `record` is off
        (a feed, whose new values a replay writes itself)."""
        rows, cols = self._layout(values.shape, packed)
        with self.current():
            texture = self.textures.acquire(rows, cols, 4 if packed else 1)
        result = GLTensorData(self, texture, rows, cols, values.size, dtype,
                              tuple(values.shape) if packed else None)
        if self._dry is not None:  # a dry run computes nothing from the values
            return result
        flat = texels_of(values, rows, cols, packed)
        with self.current():
            write_texels(texture, flat)
        if self.recorder is not None and record:
            self.recorder.steps.append(("upload", texture, flat))  # the buffer is this upload's own
        self.stats.uploads += 1
        self.stats.upload_bytes += flat.nbytes
        return result

    def download(self, data: GLTensorData) -> np.ndarray:
        if self._dry is not None:
            return self._dry.read(data)
        raw = self.read_back(data)
        if self.recorder is not None:  # the recorded plan holds for this value only
            host_steps.guard_texture(self.recorder, data, raw)
        return decode_texels(raw, data.packed_shape, data.size, data.dtype)

    def read_back(self, data: GLTensorData) -> np.ndarray:
        """The texture's raw texels (a download that a recording allows: a host step's input)."""
        with self.current():
            raw = read_texels(data.texture)
            self.check_error("download")
        self.stats.downloads += 1
        return raw

    def texture_bytes(self) -> int:
        """Bytes of every texture alive: the backend's pool and the recorded plans' own."""
        pools = {id(pool): pool for pool in (self.textures, *alive(self.replay_pools))}  # recording: the same one twice
        return sum(pool.bytes_in_use + pool.bytes_free for pool in pools.values())
