"""The WebGL backend: tensors in float textures, ops as fragment-shader programs drawn into them.

Each thread gets its own context and backend (engine/webgl/context.py has the thread rules); when
no context can be made, tfgl warns once and uses the CPU backend. The webgl-fp16 backend is this one
with every program's output stored as a half, on a context of its own (engine/webgl/half_float.py).

Programs compile on first use and are cached by what their GLSL is made of: every shape, as TF.js's
shader key does, or for the families that are free in steady state with shapes as uniforms (TF.js's
WEBGL_USE_SHAPES_UNIFORMS; Program.shape_uniforms, engine/webgl/shape_uniforms.py) the layouts'
structure, so shapes share programs; TFGL_SHAPE_UNIFORMS=1 or 0 makes every program one or the other.
`compile_only()` is a dry run for warm-up: each new program is compiled and drawn into one pixel
(llvmpipe JIT-compiles at the first draw; with Mesa's disk cache on, worker threads JIT them in
parallel first, engine/webgl/parallel_jit.py), and everything else the run makes is thrown away when
it ends, so no value it did not compute survives it (TF.js's compile-only mode left zeros behind,
tfjs#7372). Ops without a GL kernel run their CPU kernel on downloaded values (logged once per op), and
ops whose inputs are all small CPU tensors run on the CPU directly, as TF.js's WEBGL_CPU_FORWARD does,
so shape arithmetic never round-trips through textures.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
import weakref
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np

from engine import dtypes
from engine.backends.base import Backend, as_outputs, run_cpu_kernel
from engine.backends.dry_run import DeferredDraw, DryRun, ThrowawayPool
from engine.errors import GLError
from engine.kernels.registry import BACKEND_NEUTRAL, Kernel, get_kernel
from engine.tensors import Tensor
from engine.webgl import half_float, host_steps, parallel_jit, program_cache, shader_cache, shape_uniforms
from engine.webgl.compiler import (
    VERTEX_SHADER, Layout, check_ranks, fragment_source, generic_fragment_source, structures,
)
from engine.webgl.context import create_context
from engine.webgl.gl import GL, GL_TRIANGLES, Uniform
from engine.webgl.half_float import FLOAT32, OutputStorage
from engine.webgl.program import CPUFallback, Program
from engine.webgl.replay import UNREPEATABLE_OPS, OutputSlot, Recorder, Replay
from engine.webgl.textures import (
    GL_DTYPES, ComplexGLData, GLTensorData, TextureManager, decode_texels, is_power_of_two, packed_geometry,
    packed_texture_shape, read_texels, same_packing, texels_of, texture_shape, write_texels,
)

log = logging.getLogger("tfgl.webgl")
CPU_FORWARD_MAX_SIZE = 128
LLVMPIPE_LOOP_LIMIT = 65535
# Paths spelled out so that grepping a shader's path finds the code that runs it.
_RELAYOUT_SHADERS = {"pack": "templates/pack.glsl", "unpack": "templates/unpack.glsl"}


@dataclass
class Stats:
    programs_compiled: int = 0   # linked from GLSL source
    programs_loaded: int = 0     # loaded from the program binaries on disk (program_cache.py)
    compile_ms: float = 0.0
    cache_hits: int = 0
    draws: int = 0
    uploads: int = 0
    upload_bytes: int = 0
    downloads: int = 0
    cpu_fallbacks: dict = field(default_factory=dict)
    dry_draws: int = 0   # one-pixel draws of compile-only runs (not in `draws`)
    # (program name, its layouts in short, ms) per program compiled, in order: the first draw included
    program_compiles: list = field(default_factory=list)

    @property
    def programs_made(self) -> int:
        """Programs this backend made, from source or binary."""
        return self.programs_compiled + self.programs_loaded

    def as_dict(self) -> dict:
        return dict(self.__dict__, cpu_fallbacks=dict(self.cpu_fallbacks), program_compiles=list(self.program_compiles))


@dataclass
class _Compiled:
    program: int                  # the GL program object (engine/webgl/gl.py)
    uniforms: dict[str, Uniform]  # its active uniforms
    source: str                   # its fragment shader, for warm-up's workers (parallel_jit.py)
    # driver_variant()s drawn, or handed to warm-up's workers: the driver finishes compiling at each
    # one's first draw (llvmpipe JITs there), and a shape-generic program meets textures of many sizes
    variants: set = field(default_factory=set)
    # Loaded from tfgl's program binaries: the driver's JIT output is cached beside them (written by the
    # same first draw), so warm-up's workers would only load it a second time.
    from_binary: bool = False


class _DeviceCache:
    """Textures this backend uploaded for tensors whose own device data belongs elsewhere."""

    def __init__(self):
        self._by_tensor: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, tensor: Tensor) -> GLTensorData | None:
        return self._by_tensor.get(tensor)

    def put(self, tensor: Tensor, data: GLTensorData) -> None:
        self._by_tensor[tensor] = data
        weakref.finalize(tensor, data.release)


def layouts_summary(inputs: tuple[Layout, ...], output: Layout) -> str:
    """A program's shapes in short, as the compile list shows them: '1x24x24x3,3x3x3x8 -> 1x24x24x8p'."""
    def one(layout: Layout) -> str:
        return "x".join(map(str, layout.shape)) + ("p" if layout.packed else "")
    return f"{','.join(one(i) for i in inputs)} -> {one(output)}"


def driver_variant(textures: list) -> tuple[bool, ...]:
    """What of a draw's textures a driver compiles into the shader: llvmpipe keys its JIT output on
    whether each sampled texture's width and height are powers of two (textures.padded_side keeps them
    all one way where they fit)."""
    return tuple(is_power_of_two(n) for texture in textures for n in texture.size)


def _spec(texture) -> tuple[int, int, int, str]:
    return (*texture.size, texture.components, texture.dtype)


def _uniform_value(compiled: _Compiled, name: str, value) -> tuple | None:
    """(setter, location, count, values) for a uniform the linked program kept: the compiler may drop
    unused uniforms, or shorten an array whose tail is never read."""
    uniform = compiled.uniforms.get(name)
    return None if uniform is None else uniform.bound(value)


class WebGLBackend(Backend):
    name = "webgl"
    kernel_chain = ("webgl", BACKEND_NEUTRAL, "cpu")

    def __init__(self, ctx, storage: OutputStorage = FLOAT32):
        super().__init__()
        self.ctx = ctx
        # What programs write: float32, or halves as phones without float32 render targets (half_float.py).
        self.storage = storage
        if storage.half:
            self.name = "webgl-fp16"
        self.textures = TextureManager(ctx)
        self.max_texture_size = int(ctx.info["GL_MAX_TEXTURE_SIZE"])
        # llvmpipe silently stops a fragment's loops after 65535 iterations in all (gallivm's guard
        # against endless loops); kernels split longer work or run it on the CPU.
        self.max_loop_iterations = LLVMPIPE_LOOP_LIMIT if "llvmpipe" in ctx.info["GL_RENDERER"].lower() \
            else 2**31 - 1
        self.stats = Stats()
        self.debug = os.environ.get("TFGL_DEBUG", "") not in ("", "0")
        # WEBGL_PACK: kernels that have packed programs use them (TFGL_WEBGL_PACK=0 to compare).
        self.pack = os.environ.get("TFGL_WEBGL_PACK", "1") not in ("", "0")
        # WEBGL_USE_SHAPES_UNIFORMS: shapes and sizes as uniforms, one program per layout structure, for
        # the families that opt in (Program.shape_uniforms: free in steady state); TFGL_SHAPE_UNIFORMS=1
        # or 0 forces it on or off for every program, to compare.
        setting = os.environ.get("TFGL_SHAPE_UNIFORMS", "")
        self.shape_uniforms: bool | None = None if setting == "" else setting != "0"
        self._programs: dict[tuple, _Compiled] = {}
        # Per program and exact layouts: its compiled program and its shape uniforms, resolved.
        self._bindings: dict[tuple, tuple[_Compiled, list]] = {}
        # (GL program, location) -> the value object last set there, by a draw or a replay: a shared
        # (shape-generic) program keeps its uniforms, so draws set only those that changed.
        self.uniform_values: dict[tuple, object] = {}
        self.uniform_owner: object | None = None  # the replay that drew last, if nothing drew since
        self._framebuffers: dict[int, object] = {}
        self._uploads = _DeviceCache()
        self._logged_fallbacks: set[str] = set()
        self._current = False
        self.recorder: Recorder | None = None
        self._dry: DryRun | None = None
        with self.current():
            self.gl = GL(ctx.tfgl_proc_address,
                         multi_bind=ctx.version_code >= 440 or "GL_ARB_multi_bind" in ctx.extensions)
            self._driver = program_cache.Driver(ctx.info["GL_VENDOR"], ctx.info["GL_RENDERER"],
                                                ctx.info["GL_VERSION"])
            # Warm-up's workers pay only where a driver cache hands their JIT output to this context:
            # Mesa's disk cache, in tfgl's folder (on when Mesa offers program binaries).
            self._parallel_jit = shader_cache.enabled() and "mesa" in ctx.info["GL_VERSION"].lower() \
                and self.gl.binary_formats > 0

    def synchronize(self) -> None:
        with self.current():
            self.ctx.finish()

    def session(self, workload: Hashable | None = None):
        """One context section around a whole model run, so ops don't switch contexts each."""
        return self.current()

    @contextlib.contextmanager
    def current(self):
        """Makes the context current for a GL section. Reentrant: moderngl's `with ctx:` is not
        (leaving an inner one releases the context the outer one still needs)."""
        if self._current:
            yield
            return
        self._current = True
        try:
            with self.ctx:
                yield
        finally:
            self._current = False

    @property
    def compiles_in_parallel(self) -> bool:
        """Whether a compile-only run JITs its new programs on worker threads (parallel_jit.py)."""
        return self._parallel_jit and parallel_jit.wanted() > 1

    @contextlib.contextmanager
    def compile_only(self):
        """A dry run for warm-up: programs compile (one-pixel draws, `stats.dry_draws`), uploads move
        no bytes, downloads read zeros, and every texture, twin and upload made inside is deleted at
        the end. Only the compiled programs stay."""
        if self._dry is not None:
            raise RuntimeError("compile_only() runs are not nested")
        shared, dry = self.textures, DryRun(ThrowawayPool(self.ctx))
        if self.compiles_in_parallel:
            dry.deferred = []
        with self.current():
            bound = self.ctx.fbo or self.ctx.detect_framebuffer(0)  # None: nothing bound yet
            self.textures, self._dry = dry.pool, dry
            try:
                yield
                if dry.deferred:
                    self._draw_deferred(dry.deferred)
            finally:
                self.textures, self._dry = shared, None
                # moderngl rebinds its last framebuffer after making one: it must not be a deleted one.
                bound.use()
                dry.discard()

    def _draw_deferred(self, deferred) -> None:
        """The dry run's first draws: the workers JIT them into Mesa's disk cache in parallel, then this
        context draws each (loading the JIT output; or compiling it, where a worker failed)."""
        threads = parallel_jit.threads_for(len(deferred))
        # A program's compile time is its link, its worker's JIT (on another core) and its draw here.
        worker_ms = parallel_jit.run([d.job for d in deferred], threads) if threads else [None] * len(deferred)
        for d, jit_ms in zip(deferred, worker_ms):
            started = time.perf_counter()
            self._submit(d.compiled, d.fbo, d.textures, d.uniforms)
            self.stats.dry_draws += 1
            self._first_drawn(d.compiled, d.name, d.layouts, started, d.link_ms + (jit_ms or 0.0))

    @property
    def compiling_only(self) -> bool:
        return self._dry is not None

    # -- dispatch -------------------------------------------------------------------------------------
    def call(self, kernel: Kernel, inputs: list, attrs: dict) -> list:
        recorder = self.recorder
        if recorder is None:
            return self._call(kernel, inputs, attrs)
        if kernel.op in UNREPEATABLE_OPS:
            recorder.void(f"{kernel.op} gives new values every call")
        outer, recorder.op = recorder.op, kernel.op
        try:
            return self._call(kernel, inputs, attrs)
        finally:
            recorder.op = outer

    def _call(self, kernel: Kernel, inputs: list, attrs: dict) -> list:
        if kernel.backend == BACKEND_NEUTRAL:
            return as_outputs(kernel.fn(*inputs, **attrs))
        if kernel.backend == "webgl":
            cpu = get_kernel(kernel.op, "cpu")
            if cpu is not None and self._forward_to_cpu(inputs):
                return self._run_cpu(cpu, inputs, attrs)
            try:
                with self.current():
                    outputs = as_outputs(kernel.fn(self, *inputs, **attrs))
                    if self.debug:
                        self.check_error(kernel.op)
                return outputs
            except CPUFallback as reason:
                if cpu is None:
                    raise
                self._note_fallback(kernel.op, str(reason))
                return self._run_cpu(cpu, inputs, attrs)
        self._note_fallback(kernel.op, "no GL kernel")
        return self._run_cpu(kernel, inputs, attrs)

    def _run_cpu(self, kernel: Kernel, inputs: list, attrs: dict) -> list:
        """A CPU kernel; while recording, a host step of the plan where its inputs depend on values."""
        if self.recorder is None:
            return run_cpu_kernel(kernel, inputs, attrs)
        with self.current():
            return host_steps.run_recorded(self, self.recorder, kernel, inputs, attrs)

    def run_on_cpu(self, op: str, inputs: list, attrs: dict | None = None) -> list[Tensor]:
        """Runs the op's CPU kernel directly: for data with no texture form (strings, complex), which
        never was on the GPU, so it is not counted as a fallback."""
        return run_cpu_kernel(get_kernel(op, "cpu"), list(inputs), attrs or {})

    def _forward_to_cpu(self, inputs: list) -> bool:
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        return all(not self.on_gpu(t) and t.size <= CPU_FORWARD_MAX_SIZE for t in tensors)

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
                self._dry.attached.append((tensor, data))
        elif self._dry is not None:
            self._dry.uploads[id(tensor)] = (tensor, data)
        else:
            self._uploads.put(tensor, data)

    def _note_fallback(self, op: str, reason: str) -> None:
        self.stats.cpu_fallbacks[op] = self.stats.cpu_fallbacks.get(op, 0) + 1
        if op not in self._logged_fallbacks:
            self._logged_fallbacks.add(op)
            log.info("%s runs on the CPU (%s)", op, reason)

    # -- storage --------------------------------------------------------------------------------------
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
        host = host_steps.host_value(self, tensor) if self.recorder is not None else None
        values = tensor.numpy() if host is None else host.values
        shape = upload_shape if packed and upload_shape else tensor.shape
        data = self._upload(values.reshape(shape), tensor.dtype, packed, record=host is None)
        if host is not None:  # a replay uploads the value its host step computes then
            host_steps.record_upload(self.recorder, host, shape, data)
        self._keep_upload(tensor, data)
        return data

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
        # A dry run's twin holds one pixel of values: it must never land on the (long-lived) data.
        twins = data.twins if self._dry is None else self._dry.twins_of(data)
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
                          packed_output=direction == "pack", shape_uniforms=True)
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
            # Zeros, not a dry texture's garbage: a value read on the CPU may size later work.
            texels = data.rows * data.cols * (4 if data.packed else 1)
            return decode_texels(np.zeros(texels, np.float32), data.packed_shape, data.size, data.dtype)
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

    def check_error(self, where: str) -> None:
        error = self.ctx.error
        if error != "GL_NO_ERROR":
            raise GLError(f"OpenGL error {error} after {where}")

    # -- programs -------------------------------------------------------------------------------------
    def run_program(self, program: Program, inputs: list[Tensor], out_shape, out_dtype: str = "float32",
                    views: tuple | None = None) -> Tensor:
        """Draws `program` over a new output texture; returns the output tensor (on the GPU). `views`:
        (input shapes, output shape) the program computes on instead, of the same sizes (an elementwise
        op's fewest dims); the output texture is laid out for `out_shape` all the same, as its readers
        expect."""
        out_shape = tuple(int(d) for d in out_shape)
        size = int(np.prod(out_shape, dtype=np.int64))
        if size == 0:
            return Tensor(np.zeros(out_shape, dtypes.NUMPY_OF[out_dtype]), out_dtype)
        if program.loop_iterations > self.max_loop_iterations:
            raise CPUFallback(f"{program.name}: {program.loop_iterations} loop iterations per fragment exceed "
                              f"this driver's limit of {self.max_loop_iterations}")
        datas = [self.texture_of(t, program.packed_inputs) for t in inputs]
        shapes, drawn_shape = views if views is not None else ([t.shape for t in inputs], out_shape)
        layouts = tuple(Layout(s, d.rows, d.cols, d.packed) for s, d in zip(shapes, datas))
        data = self._draw(program, datas, layouts, drawn_shape, out_dtype, out_shape)
        return Tensor(None, out_dtype, out_shape, device=data)

    def _draw(self, program: Program, datas: list[GLTensorData], layouts: tuple[Layout, ...],
              out_shape: tuple[int, ...], out_dtype: str, texture_for=None) -> GLTensorData:
        """`texture_for`: the shape the output texture is laid out for (out_shape's size; default out_shape)."""
        packed = program.packed_output
        rows, cols = self._layout(out_shape if texture_for is None else texture_for, packed)
        output_layout = Layout(out_shape, rows, cols, packed)
        (compiled, shape_values), started = self._compiled(program, layouts, output_layout)
        output = self.textures.acquire(rows, cols, 4 if packed else 1, self.storage.texture_dtype)
        size = int(np.prod(out_shape, dtype=np.int64))
        result = GLTensorData(self, output, rows, cols, size, out_dtype, out_shape if packed else None)
        textures = [d.texture for d in datas]
        variant = driver_variant(textures)
        new_variant = variant not in compiled.variants
        compiled.variants.add(variant)
        dry = self._dry
        if dry is not None and not new_variant:  # a dry run draws only what the driver has not compiled
            return result
        uniforms = shape_values + [u for u in (_uniform_value(compiled, name, value)
                                               for name, value in (program.uniforms or {}).items()) if u is not None]
        if dry is not None and dry.deferred is not None and not compiled.from_binary:
            job = parallel_jit.Job(compiled.source, tuple(program.inputs), tuple(_spec(t) for t in textures),
                                   _spec(output))
            dry.deferred.append(DeferredDraw(compiled, job, self._framebuffer(output), textures, uniforms,
                                             program.name, layouts_summary(layouts, output_layout),
                                             (time.perf_counter() - started) * 1e3))
            return result
        fbo = self._framebuffer(output)
        self._submit(compiled, fbo, textures, uniforms)
        if dry is not None:
            self.stats.dry_draws += 1
        else:
            self.stats.draws += 1
        if self.recorder is not None:
            self.recorder.steps.append(("draw", fbo, textures, compiled.program, uniforms))
        if new_variant:
            self._first_drawn(compiled, program.name, layouts_summary(layouts, output_layout), started)
        return result

    def _submit(self, compiled: _Compiled, fbo, textures: list, uniforms: list) -> None:
        fbo.use()
        for unit, texture in enumerate(textures):
            texture.use(location=unit)
        gl = self.gl
        gl.UseProgram(compiled.program)
        gl.BindVertexArray(gl.empty_vao)
        self.uniform_owner = None  # a replay's skipped uniform sets assume only it drew since its last run
        last = self.uniform_values
        for setter, location, count, values in uniforms:
            key = (compiled.program, location)
            if last.get(key) is not values:
                setter(location, count, values)
                last[key] = values
        gl.DrawArrays(GL_TRIANGLES, 0, 3)

    def _first_drawn(self, compiled: _Compiled, name: str, layouts: str, started: float, link_ms: float = 0.0) -> None:
        """Counts a program's compile time: its link and its first draw call of a driver variant, in which
        llvmpipe JITs the shader on the calling thread. No finish(): that would count the draw's math as
        compile time and stall the host behind the GPU at every new program of a first call."""
        ms = link_ms + (time.perf_counter() - started) * 1e3
        self.stats.compile_ms += ms
        self.stats.program_compiles.append((name, layouts, ms))

    def _compiled(self, program: Program, inputs: tuple[Layout, ...],
                  output: Layout) -> tuple[tuple[_Compiled, list], float]:
        """The linked program for these layouts and its shape uniforms, bound as draws set them
        ((setter, location, count, values)). The key holds everything the source is made from (as
        TF.js's makeShaderKey), so a hit never regenerates the GLSL; with shape uniforms, layouts of one
        structure share a program."""
        started = time.perf_counter()
        key = (program.key(), inputs, output)
        binding = self._bindings.get(key)
        if binding is not None:
            self.stats.cache_hits += 1
            return binding, started
        check_ranks(program, list(inputs), output)
        generic = self._generic_form(program, inputs, output)
        if generic is not None:
            program, input_structures, output_structure = generic
            program_key = (program.key(shape_uniforms=True), input_structures, output_structure)
        else:
            program_key = key
        compiled = self._programs.get(program_key)
        if compiled is None:
            source = generic_fragment_source(program, input_structures, output_structure, self.storage) if generic \
                else fragment_source(program, list(inputs), output, self.storage)
            compiled = self._link(program, source)
            self._programs[program_key] = compiled
        else:
            self.stats.cache_hits += 1
        values = {**shape_uniforms.values(program.inputs, inputs, output), **(program.sizes or {})} \
            if generic else {}
        binding = compiled, [u for u in (_uniform_value(compiled, name, value)
                                         for name, value in values.items()) if u is not None]
        self._bindings[key] = binding
        return binding, started

    def _generic_form(self, program: Program, inputs: tuple[Layout, ...], output: Layout) -> tuple | None:
        """(the program as compiled shape-generic, its input structures, output structure), or None
        for a program per shape: a family that does not opt in (unless TFGL_SHAPE_UNIFORMS=1), sizes
        past divInt's exact range, or, by default, reads that would divide (unless the family reads
        everything by flat index on purpose: layout_blind)."""
        forced = self.shape_uniforms
        if not (program.shape_uniforms if forced is None else forced) or not shape_uniforms.exact((*inputs, output)):
            return None
        if forced is None:
            program = program.with_constant_sizes()
        input_structures, output_structure = structures(program, list(inputs), output)
        if forced is None and not program.layout_blind and any(s.divides for s in input_structures):
            return None
        return program, input_structures, output_structure

    def _link(self, program: Program, source: str) -> _Compiled:
        """The program loaded from its binary on disk if there is a good one, else compiled from
        `source` (and its binary stored for the next process)."""
        gl, cache = self.gl, shader_cache.program_cache()
        if not gl.binary_formats:
            cache = None
        gl_program = None
        if cache is not None:
            entry_key = program_cache.key(self._driver, VERTEX_SHADER, source)
            found = cache.read(entry_key, self._driver)
            if found is not None:
                gl_program = gl.load(*found)
        loaded = gl_program is not None
        if loaded:
            self.stats.programs_loaded += 1
        else:
            try:
                gl_program = gl.compile(VERTEX_SHADER, source)
            except GLError as error:
                raise GLError(f"program {program.name!r} failed to compile: {error}") from None
            self.stats.programs_compiled += 1
            binary = gl.binary(gl_program) if cache is not None else None
            if binary is not None:
                cache.write(entry_key, self._driver, *binary)
        uniforms = gl.uniforms(gl_program)
        gl.set_samplers(gl_program, uniforms, program.inputs)
        return _Compiled(gl_program, uniforms, source, from_binary=loaded)

    def _framebuffer(self, texture):
        """The texture's framebuffer, drawing the texels it was acquired for (not its padding); in a dry
        run one that draws its first pixel only."""
        framebuffers = self._framebuffers if self._dry is None else self._dry.framebuffers
        fbo = framebuffers.get(texture.glo)
        if fbo is None:
            fbo = self.ctx.framebuffer(color_attachments=[texture])
            fbo.viewport = (0, 0, 1, 1) if self._dry is not None else (0, 0, *texture.extra)
            framebuffers[texture.glo] = fbo
        return fbo

    # -- replayed plans -------------------------------------------------------------------------------
    def record(self, run, feeds: dict) -> tuple[list[Tensor], Replay | str]:
        """Runs `run(feeds on the GPU)` once, recording it; returns its outputs (read back), and the
        Replay for later calls with feeds of these shapes, or why this run cannot be replayed."""
        recorder, shared = Recorder(), self.textures
        pool = TextureManager(self.ctx)
        with self.current():
            self.textures, self.recorder = pool, recorder
            try:
                gpu_feeds = self.feeds_on_gpu(feeds, recorder)
                outputs = run(gpu_feeds)
                slots = [self._output_slot(t) for t in outputs]
            finally:
                self.textures, self.recorder = shared, None
            results = [Tensor(t.numpy(), t.dtype) for t in outputs]
        del outputs, gpu_feeds
        if recorder.void_reason is not None:
            log.info("not replaying: %s", recorder.void_reason)
            pool.merge_into(shared)
            return results, recorder.void_reason
        return results, Replay(self, recorder, slots, pool)

    def feeds_on_gpu(self, feeds: dict, recorder: Recorder | None = None) -> dict:
        """The feeds uploaded (unpacked) with no host copy, so reading one on the CPU shows as a
        download. A plan's first call runs this way too, so its recording needs no new program."""
        return {key: self._feed_on_gpu(key, t, recorder) for key, t in feeds.items()}

    def _feed_on_gpu(self, key, tensor: Tensor, recorder: Recorder | None) -> Tensor:
        if tensor.dtype not in GL_DTYPES or tensor.size == 0 or self.gl_data(tensor) is not None:
            if recorder is not None:
                recorder.void("an input already on the GPU, empty or of a dtype textures cannot hold")
            return tensor
        data = self._upload(tensor.numpy(), tensor.dtype, record=False)
        if recorder is not None:  # with the zero-padded host buffer each replay fills
            recorder.feeds.append((key, data.texture, np.zeros(data.rows * data.cols, np.float32)))
        # Once the run no longer needs the feed its texture may hold later values: a replay writes the
        # feed first and redraws everything after it, in the same order.
        return Tensor(None, tensor.dtype, tensor.shape, device=data)

    def _output_slot(self, tensor: Tensor) -> OutputSlot:
        host = host_steps.host_value(self, tensor)
        if host is not None:
            return OutputSlot(None, None, tensor.size, tensor.dtype, tensor.shape, host_slot=host.slot)
        data = self.gl_data(tensor)
        if tensor.has_values() or data is None:
            return OutputSlot(None, None, tensor.size, tensor.dtype, tensor.shape, tensor.numpy().copy())
        return OutputSlot(data.texture, data.packed_shape, data.size, data.dtype, tensor.shape)

    def texture_bytes(self) -> int:
        return self.textures.bytes_in_use + self.textures.bytes_free


# -- one backend per thread -------------------------------------------------------------------------------
_local = threading.local()
_failure: dict[str, str | None] = {"reason": None}
_lock = threading.Lock()


def backend_for_thread(half: bool | None = None) -> WebGLBackend | None:
    """This thread's WebGL backend, made on first use; None (after one warning) if GL is unusable.
    `half`: the one storing halves (webgl-fp16: a context of its own, rounding as TFGL_FP16_ROUNDING
    says) or float32; None: as TFGL_WEBGL_PRECISION says."""
    if half is None:
        half = half_float.fp16_by_default()
    storage = half_float.half_storage() if half else FLOAT32
    backends = getattr(_local, "backends", None)
    if backends is None:
        backends = _local.backends = {}
    backend = backends.get(storage)
    if backend is not None or _failure["reason"] is not None:
        return backend
    try:
        backend = WebGLBackend(create_context(), storage)
    except GLError as error:
        with _lock:
            if _failure["reason"] is None:
                _failure["reason"] = str(error)
                warnings.warn(f"tfgl: no OpenGL context ({error}); using the CPU backend", RuntimeWarning,
                              stacklevel=3)
        return None
    backends[storage] = backend
    return backend


def available() -> bool:
    """Whether this machine can make an OpenGL 3.3+ context."""
    return backend_for_thread() is not None


def check_thread_error(where: str, half: bool | None = None) -> None:
    """Raises GLError if this thread's context (of backend_for_thread(half)) holds a GL error (reading
    it clears it); no-op without GL."""
    backend = backend_for_thread(half)
    if backend is not None:
        with backend.current():
            backend.check_error(where)


def stats() -> dict:
    """Counters of this thread's WebGL backend: programs compiled, compile ms, cache hits, draws,
    uploads, downloads, CPU fallbacks per op, texture bytes."""
    backend = backend_for_thread()
    if backend is None:
        return {}
    return dict(backend.stats.as_dict(), texture_bytes=backend.texture_bytes(),
                textures_alive=backend.textures.textures_alive())


def reset_stats() -> None:
    backend = backend_for_thread()
    if backend is not None:
        backend.stats = Stats()
