"""The WebGL backend itself: dispatch (a GL kernel, or its CPU kernel as a fallback or for small CPU
inputs), draws of programs (programs.py links them), compile-only runs for warm-up, and recorded
plans for replays (replay.py). Where tensors' values are is tensor_textures.py.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
import weakref
from collections.abc import Hashable

import numpy as np

from engine import dtypes
from engine.backends.base import Backend, as_outputs, run_cpu_kernel
from engine.backends.webgl.dry_run import DeferredDraw, DryRun, ProgramsAreCached, ThrowawayPool
from engine.backends.webgl.tensor_textures import TensorTextures, alive
from engine.errors import GLError
from engine.kernels.registry import BACKEND_NEUTRAL, DRY_RUN, Kernel, get_kernel
from engine.tensors import Tensor
from engine.webgl import host_steps, parallel_jit, program_cache, shader_cache
from engine.webgl.compiler import Layout
from engine.webgl.context import release_context
from engine.webgl.gl import GL, GL_TRIANGLES
from engine.webgl.half_float import FLOAT32, OutputStorage
from engine.webgl.program import CPUFallback, Program
from engine.webgl.programs import CompiledProgram, ProgramStore, Stats, driver_variant, layouts_summary
from engine.webgl.replay import UNREPEATABLE_OPS, OutputSlot, Recorder, Replay
from engine.webgl.texture_pool import TextureManager, free_texture_limit
from engine.webgl.textures import GL_DTYPES, GLTensorData

log = logging.getLogger("tfgl.webgl")
CPU_FORWARD_MAX_SIZE = 128
LLVMPIPE_LOOP_LIMIT = 65535


class WebGLBackend(TensorTextures, Backend):
    name = "webgl"
    kernel_chain = ("webgl", BACKEND_NEUTRAL, "cpu")

    def __init__(self, ctx, storage: OutputStorage = FLOAT32):
        super().__init__()
        self.ctx = ctx
        # What programs write: float32, or halves as phones without float32 render targets (half_float.py).
        self.storage = storage
        if storage.half:
            self.name = "webgl-fp16"
        # The pool new textures come from: its own, or a dry run's or a recording's while one runs.
        self.textures = self.own_textures = TextureManager(ctx, free_limit=free_texture_limit())
        self.replay_pools: weakref.WeakSet = weakref.WeakSet()  # recordings' own textures (texture_bytes)
        self.replays: weakref.WeakSet = weakref.WeakSet()  # live plans, whose programs stay linked
        self.max_texture_size = int(ctx.info["GL_MAX_TEXTURE_SIZE"])
        # llvmpipe silently stops a fragment's loops after 65535 iterations in all (gallivm's guard
        # against endless loops); kernels split longer work or run it on the CPU.
        self.max_loop_iterations = LLVMPIPE_LOOP_LIMIT if "llvmpipe" in ctx.info["GL_RENDERER"].lower() \
            else 2**31 - 1
        self.stats = Stats()
        self.debug = os.environ.get("TFGL_DEBUG", "") not in ("", "0")
        # WEBGL_PACK: kernels that have packed programs use them (TFGL_WEBGL_PACK=0 to compare).
        self.pack = os.environ.get("TFGL_WEBGL_PACK", "1") not in ("", "0")
        # (GL program, location) -> the value object last set there, by a draw or a replay: a shared
        # (shape-generic) program keeps its uniforms, so draws set only those that changed.
        self.uniform_values: dict[tuple, object] = {}
        self.uniform_owner: object | None = None  # the replay that drew last, if nothing drew since
        self._framebuffers: dict[int, object] = {}
        self._logged_fallbacks: set[str] = set()
        self._current = False
        self.closed = False
        self._on_close: list[weakref.WeakMethod] = []
        self.recorder: Recorder | None = None
        self._dry: DryRun | None = None
        with self.current():
            self.gl = GL(ctx.tfgl_proc_address,
                         multi_bind=ctx.version_code >= 440 or "GL_ARB_multi_bind" in ctx.extensions)
            driver = program_cache.Driver(ctx.info["GL_VENDOR"], ctx.info["GL_RENDERER"], ctx.info["GL_VERSION"])
            self.programs = ProgramStore(self.gl, driver, storage, self.stats)
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
        if self.closed:
            raise GLError("this WebGL backend was closed when its thread ended, and its GL context with it: "
                          "tensors it held on the GPU are gone (fetch values before the thread ends)")
        self._current = True
        try:
            with self.ctx:
                if self.own_textures.evicted:
                    self._delete_evicted()
                yield
        finally:
            self._current = False

    def when_closed(self, forget: weakref.WeakMethod) -> None:
        """Calls forget(self) when the backend closes: a cache of something of this backend's (a
        model's recorded plans) drops it, and the backend with it. Held weakly: a cache that goes
        first is not kept alive (and is dropped here: a long-lived thread sees many models come and go)."""
        self._on_close = [method for method in self._on_close if method() is not None] + [forget]

    def close(self) -> None:
        """Destroys the GL context with every texture and program in it (its thread ended: the
        backend is the thread's). Caches that hold this backend's uploads or plans forget them, and
        so does the backend: a model's weights uploaded here keep it (their device data names it),
        an empty shell."""
        if self.closed:
            return
        self.closed = True
        try:
            for method in self._on_close:
                forget = method()
                if forget is not None:
                    forget(self)
        finally:
            self._on_close = []
            self._uploads.clear()
            self.programs.forget()
            self.own_textures.forget()
            self._framebuffers.clear()
            self.uniform_values.clear()
            release_context(self.ctx)

    @property
    def compiles_in_parallel(self) -> bool:
        """Whether a compile-only run JITs its new programs on worker threads (parallel_jit.py)."""
        return self._parallel_jit and parallel_jit.wanted() > 1

    @contextlib.contextmanager
    def compile_only(self, stop_when_cached: bool = False, warmup: bool = False, guesses: bool = True):
        """A dry run for warm-up: programs compile (one-pixel draws, `stats.dry_draws`), uploads move
        no bytes, downloads read zeros (a feed reads its values, and a guess its guess:
        dry_run.GUESSES), and every texture, twin and upload made inside is deleted at the end. Only
        the compiled programs stay, and, for a `warmup` (not a first call's run), the model's
        constants the run read on the GPU, uploaded for real, and the textures the run held at once,
        made ahead in the backend's pool: a first call with these shapes then allocates and uploads
        nothing but its inputs. `stop_when_cached` (a model's first call): the run ends quietly as
        soon as its programs prove to come from the program binaries (dry_run.py). `guesses`: whether
        dry_run.GUESSES steer the run. Yields the DryRun."""
        if self._dry is not None:
            raise RuntimeError("compile_only() runs are not nested")
        shared = self.textures
        dry = DryRun(ThrowawayPool(self.ctx), shared, warmup, stop_when_cached=stop_when_cached,
                     linked_before=(self.stats.programs_loaded, self.stats.programs_compiled), guessing=guesses)
        if self.compiles_in_parallel:
            dry.deferred = []
        with self.current():
            bound = self.ctx.fbo or self.ctx.detect_framebuffer(0)  # None: nothing bound yet
            self.textures, self._dry = dry.pool, dry
            try:
                yield dry
                if dry.deferred:
                    self._draw_deferred(dry.deferred)
            except ProgramsAreCached:
                pass
            finally:
                self.textures, self._dry = shared, None
                # moderngl rebinds its last framebuffer after making one: it must not be a deleted one.
                bound.use()
                dry.discard()
            if warmup:
                self._make_ahead(dry.pool.peak)

    def _make_ahead(self, counts: dict) -> None:
        """The textures a warmed-up first call holds at once, made now: saving that call the time, never
        its result, so a failure (out of memory) only says so."""
        try:
            self.textures.reserve(counts)
            self.check_error("making textures ahead")
        except Exception as error:  # noqa: BLE001
            log.warning("warm-up could not make the first call's textures ahead (%s); that call will make them",
                        str(error).splitlines()[0] if str(error) else type(error).__name__)

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
            self._first_drawn(d.name, d.layouts, started, d.link_ms + (jit_ms or 0.0))

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
            outputs = as_outputs(kernel.fn(*inputs, **attrs))
            if self._dry is not None:
                self._dry.note_views(inputs, outputs)
            return outputs
        if kernel.backend == "webgl":
            cpu = get_kernel(kernel.op, "cpu")
            if cpu is not None and self._forward_to_cpu(inputs):
                return self._run_cpu(cpu, inputs, attrs)
            try:
                with self.current():
                    outputs = as_outputs(kernel.fn(self, *inputs, **attrs))
                    if self.debug:
                        self.check_error(kernel.op)
                return outputs if self._dry is None else self._dry.made(kernel.op, inputs, outputs, attrs)
            except CPUFallback as reason:
                if cpu is None:
                    raise
                self._note_fallback(kernel.op, str(reason))
                return self._run_cpu(cpu, inputs, attrs)
        self._note_fallback(kernel.op, "no GL kernel")
        return self._run_cpu(kernel, inputs, attrs)

    def _run_cpu(self, kernel: Kernel, inputs: list, attrs: dict) -> list:
        """A CPU kernel; while recording, a host step of the plan where its inputs depend on values. In
        a dry run, an op fed values the run never computed runs its stand-in where it has one (zeros
        read back would keep nothing) or gives its guess (dry_run.GUESSES), and its outputs count as
        never computed too."""
        dry = self._dry
        if dry is not None and any(dry.unknown(x) for x in inputs):
            outputs = run_cpu_kernel(get_kernel(kernel.op, DRY_RUN) or kernel, inputs, attrs)
            return dry.made(kernel.op, inputs, outputs)
        if self.recorder is None:
            return run_cpu_kernel(kernel, inputs, attrs)
        with self.current():
            return host_steps.run_recorded(self, self.recorder, kernel, inputs, attrs)

    def run_on_cpu(self, op: str, inputs: list, attrs: dict | None = None) -> list[Tensor]:
        """Runs the op's CPU kernel directly: for data with no texture form (strings, complex), which
        never was on the GPU, so it is not counted as a fallback."""
        return run_cpu_kernel(get_kernel(op, "cpu"), list(inputs), attrs or {})

    def _forward_to_cpu(self, inputs: list) -> bool:
        """Small ops on host values run on the CPU (TF.js's CPU handoff). A model's constant counts as
        host values whether or not a kernel uploaded it yet, so that every call, the first or a later
        one, warmed up or not, takes the same path."""
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        return all(t.size <= CPU_FORWARD_MAX_SIZE and (t.constant or not self.on_gpu(t)) for t in tensors)

    def _note_fallback(self, op: str, reason: str) -> None:
        self.stats.cpu_fallbacks[op] = self.stats.cpu_fallbacks.get(op, 0) + 1
        if op not in self._logged_fallbacks:
            self._logged_fallbacks.add(op)
            log.info("%s runs on the CPU (%s)", op, reason)

    def check_error(self, where: str) -> None:
        error = self.ctx.error
        if error != "GL_NO_ERROR":
            raise GLError(f"OpenGL error {error} after {where}")

    # -- drawing --------------------------------------------------------------------------------------
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
        started = time.perf_counter()
        dry = self._dry
        compiled, shape_values = self.programs.bind(program, layouts, output_layout)
        if dry is not None:
            dry.check_cached(self.stats)
        elif self.programs.evict_due:
            self._evict_programs(compiled)
        output = self.textures.acquire(rows, cols, 4 if packed else 1, self.storage.texture_dtype)
        size = int(np.prod(out_shape, dtype=np.int64))
        result = GLTensorData(self, output, rows, cols, size, out_dtype, out_shape if packed else None)
        textures = [d.texture for d in datas]
        variant = driver_variant(textures)
        new_variant = variant not in compiled.variants
        compiled.variants.add(variant)
        if dry is not None and not new_variant:  # a dry run draws only what the driver has not compiled
            return result
        uniforms = shape_values + compiled.bound(program.uniforms or {})
        if dry is not None and dry.deferred is not None and not compiled.from_binary:
            spec = parallel_jit.texture_spec
            job = parallel_jit.Job(compiled.source, tuple(program.inputs), tuple(map(spec, textures)), spec(output))
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
            self.recorder.programs.add(compiled)
        if new_variant:
            self._first_drawn(program.name, layouts_summary(layouts, output_layout), started)
        return result

    def _submit(self, compiled: CompiledProgram, fbo, textures: list, uniforms: list) -> None:
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

    def _first_drawn(self, name: str, layouts: str, started: float, link_ms: float = 0.0) -> None:
        """Counts a program's compile time: its link and its first draw call of a driver variant, in which
        llvmpipe JITs the shader on the calling thread. No finish(): that would count the draw's math as
        compile time and stall the host behind the GPU at every new program of a first call."""
        ms = link_ms + (time.perf_counter() - started) * 1e3
        self.stats.compile_ms += ms
        self.stats.program_compiles.append((name, layouts, ms))

    def _delete_evicted(self) -> None:
        """Deletes the textures the pool evicted, and their framebuffers: a driver may give a deleted
        texture's name to the next new one (NVIDIA's does), which must not find the old framebuffer."""
        for texture in self.own_textures.take_evicted():
            self.stats.textures_evicted += 1
            fbo = self._framebuffers.pop(texture.glo, None)
            if fbo is not None:
                if self.ctx.fbo is fbo:  # moderngl rebinds its last framebuffer after making one
                    self.ctx.detect_framebuffer(0).use()
                fbo.release()
            texture.release()

    def _evict_programs(self, drawing: CompiledProgram) -> None:
        """Deletes the programs bound longest ago past TFGL_LINKED_PROGRAMS, keeping `drawing` and
        those a live plan or this recording draws, and forgets the uniform values set in them."""
        drawn = {drawing, *(self.recorder.programs if self.recorder is not None else ())}
        for replay in alive(self.replays):
            drawn.update(replay.programs)
        gone = {compiled.program for compiled in self.programs.evict(drawn)}
        if gone:  # in place: replays' calls hold this dict
            for key in [key for key in self.uniform_values if key[0] in gone]:
                del self.uniform_values[key]

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
        pool = TextureManager(self.ctx, lender=shared)
        self.replay_pools.add(pool)
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
        replay = Replay(self, recorder, slots, pool)
        self.replays.add(replay)
        return results, replay

    def feeds_on_gpu(self, feeds: dict, recorder: Recorder | None = None) -> dict:
        """The feeds uploaded (unpacked) with no host copy, so reading one on the CPU shows as a
        download. A plan's first call runs this way too, so its recording needs no new program."""
        return {key: self._feed_on_gpu(key, t, recorder) for key, t in feeds.items()}

    def _feed_on_gpu(self, key, tensor: Tensor, recorder: Recorder | None) -> Tensor:
        if tensor.dtype not in GL_DTYPES or tensor.size == 0 or self.gl_data(tensor) is not None:
            if recorder is not None:
                recorder.void("an input already on the GPU, empty or of a dtype textures cannot hold")
            return tensor
        values = tensor.numpy()
        data = self._upload(values, tensor.dtype, record=False)
        if self._dry is not None:
            self._dry.feed(data, values)
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
