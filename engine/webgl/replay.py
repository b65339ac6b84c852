"""Replayed execution plans: a steady call re-issues the draws a recorded call made, with no per-op
Python decisions (no kernel lookup, codegen key, layout choice or texture allocation).

Recording runs the model normally on a private texture pool, so every texture it touched belongs to
the plan. A plan holds for calls whose input shapes, shapes of what its host steps compute and values
read on the CPU are those of the recorded call (engine/webgl/host_steps.py: CPU kernels recorded
with their inputs' sources, guarded by their outputs' shapes, and guards on the values read). The
feeds are uploaded up front with no host copy, so whatever reads a value on the CPU (a data-dependent
size, control flow) downloads one and is seen. A random op, or a read of many values, voids the
recording: such models keep running through the executor.
"""
from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.webgl.gl import GL_FRAMEBUFFER, GL_TEXTURE0, GL_TEXTURE_2D, GL_TRIANGLES
from engine.webgl.host_steps import bind_guard, bind_host_step, bind_host_upload
from engine.webgl.textures import decode_texels, read_texels, write_texels

# Ops whose results change from call to call without their inputs changing.
UNREPEATABLE_OPS = frozenset({"RandomUniform", "RandomUniformInt", "RandomStandardNormal", "RandomGamma",
                              "RandomPoisson", "RandomPoissonV2", "RandomShuffle", "Multinomial",
                              "TruncatedNormal", "ParameterizedTruncatedNormal"})


@dataclass
class Recorder:
    """What a recorded call did, in order: ("draw", ...), ("upload", texture, float32 texels), ("host",
    HostStep), ("host upload", HostUpload) and ("guard", Guard) steps."""

    steps: list = field(default_factory=list)
    feeds: list = field(default_factory=list)   # (feed key, texture, padded host buffer)
    void_reason: str | None = None
    op: str | None = None    # the op the backend runs now: who reads a value on the CPU
    slots: int = 0           # host values the host steps make
    handles: dict = field(default_factory=dict)  # id(handle a host step made) -> (slot, the handle)
    programs: set = field(default_factory=set)   # the CompiledPrograms its draws use

    def void(self, reason: str) -> None:
        if self.void_reason is None:
            self.void_reason = reason

    def new_slot(self) -> int:
        self.slots += 1
        return self.slots - 1

    def reader(self) -> str:
        """Who reads a value now: an op, or the executor itself (control flow)."""
        return self.op if self.op is not None else "control flow"


@dataclass
class OutputSlot:
    texture: object | None      # None: a host step's value or one fixed by the input shapes (on the CPU)
    packed_shape: tuple | None
    size: int
    dtype: str
    shape: tuple
    constant: np.ndarray | None = None
    host_slot: int | None = None


class Replay:
    """A recorded call, replayable for inputs of the same shapes and dtypes.

    Its steps are compiled into one flat list of (function, arguments) calls, mostly GL entry points
    called through ctypes (engine/webgl/gl.py): a draw binds its framebuffer, and sets the viewport,
    binds its textures in one call (GL 4.4 multi-bind) and its program unless the step before left
    them so, sets its uniforms and draws. A shared (shape-generic) program keeps its uniforms between
    draws, so the plan comes twice: cold, checking each uniform against the value it last got (the
    backend's `uniform_values`, as every draw does), and warm, for a run that follows its own previous
    run with no other draw in between (the backend's `uniform_owner`), setting only those uniforms
    whose values differ from the previous draw of their program in the plan, taken round the loop.
    """

    def __init__(self, backend, recorder: Recorder, outputs: list[OutputSlot], pool):
        self.backend = backend
        self.outputs = outputs
        self.pool = pool
        self.feeds = recorder.feeds
        self.programs = frozenset(recorder.programs)  # kept linked while the plan lives (programs.py)
        self.draws = sum(1 for step in recorder.steps if step[0] == "draw")
        self.host_steps = sum(1 for step in recorder.steps if step[0] == "host")
        self._slots: list = [None] * recorder.slots
        self._cold, self._warm, self._uniform_keys = _compile(recorder.steps, backend, self._slots)
        self._token = object()  # what the backend's uniform_owner holds after this plan ran
        self.last_issue_s = 0.0   # host time issuing the last replay's steps (Python + driver calls)

    @property
    def steady_calls(self) -> Calls:
        """The flat (function, arguments) list a replay that follows its own last run issues: what
        bench/replay_overhead.py times."""
        return self._warm

    def run(self, feeds: dict) -> list[np.ndarray]:
        backend = self.backend
        gl = backend.gl
        with backend.current():
            # The draws' empty vertex array, bound once: nothing a replay calls binds another.
            gl.BindVertexArray(gl.empty_vao)
            for key, texture, buffer in self.feeds:
                values = feeds[key]
                buffer[:values.size] = values.reshape(-1)
                write_texels(texture, buffer)
            calls = self._warm if backend.uniform_owner is self._token else self._cold
            started = time.perf_counter()
            try:
                for call, args in calls:
                    call(*args)
            except BaseException:
                # Stopped part way (a guard failed): which uniforms hold what is known no more.
                backend.uniform_owner = None
                for key in self._uniform_keys:
                    backend.uniform_values.pop(key, None)
                raise
            backend.uniform_owner = self._token
            self.last_issue_s = time.perf_counter() - started
            results = [self._read(slot) for slot in self.outputs]
            backend.check_error("a replayed run")
        backend.stats.draws += self.draws
        backend.stats.downloads += sum(1 for slot in self.outputs if slot.texture is not None)
        return results

    def _read(self, slot: OutputSlot) -> np.ndarray:
        if slot.host_slot is not None:
            return np.array(self._slots[slot.host_slot]).reshape(slot.shape)
        if slot.texture is None:
            return slot.constant.copy()
        raw = read_texels(slot.texture)
        return decode_texels(raw, slot.packed_shape, slot.size, slot.dtype).reshape(slot.shape)

    def discard(self) -> None:
        """Gives the plan's textures back to the backend's pool and its programs up to eviction (no GL call:
        any thread may)."""
        pool, self.pool = self.pool, None
        self.programs = frozenset()
        if pool is not None:
            # Its own pool: when a finalizer runs this, `textures` may be a dry run's or a recording's.
            pool.merge_into(self.backend.own_textures)

    def __del__(self):
        self.discard()


Calls = list[tuple[Callable, tuple]]


def _compile(steps: list, backend, slots: list) -> tuple[Calls, Calls, set]:
    """(cold calls, warm calls, the (program, location) keys of the uniforms they set)."""
    gl, set_values = backend.gl, backend.uniform_values

    def set_if_changed(key, setter, location, count, values):
        if set_values.get(key) is not values:
            setter(location, count, values)
            set_values[key] = values

    draws = [step for step in steps if step[0] == "draw"]
    warm_sets = iter(_warm_uniform_sets(draws))
    cold: Calls = []
    warm: Calls = []
    # What the step before left bound and set (nothing known at first).
    bound_program, bound_textures, viewport = None, (), None
    for step in steps:
        if step[0] != "draw":
            call = (_host_call(step, backend, slots), ())
            cold.append(call)
            warm.append(call)
            bound_program, bound_textures = None, ()  # moderngl's texture reads and writes bind their own
            continue
        _, framebuffer, textures, program, uniforms = step
        names = tuple(texture.glo for texture in textures)
        binds: Calls = [(gl.BindFramebuffer, (GL_FRAMEBUFFER, framebuffer.glo))]
        if framebuffer.viewport != viewport:
            viewport = framebuffer.viewport
            binds.append((gl.Viewport, viewport))
        if names != bound_textures[:len(names)]:
            binds += _texture_binds(gl, names)
            bound_textures = names
        if program != bound_program:
            binds.append((gl.UseProgram, (program,)))
            bound_program = program
        needed = next(warm_sets)
        cold += binds + [(set_if_changed, ((program, location), setter, location, count, values))
                         for setter, location, count, values in uniforms]
        warm += binds + [(setter, (location, count, values)) for i, (setter, location, count, values)
                         in enumerate(uniforms) if i in needed]
        cold.append((gl.DrawArrays, (GL_TRIANGLES, 0, 3)))
        warm.append((gl.DrawArrays, (GL_TRIANGLES, 0, 3)))
    keys = {(step[3], location) for step in draws for _, location, _, _ in step[4]}
    return cold, warm, keys


def _warm_uniform_sets(draws: list) -> list[set[int]]:
    """Per draw, the indexes of the uniforms a warm run sets: those whose value object differs from the
    one their (program, location) held at its previous draw, the plan's last draws preceding its first."""
    held = {(program, location): values for _, _, _, program, uniforms in draws
            for _, location, _, values in uniforms}
    sets = []
    for _, _, _, program, uniforms in draws:
        needed = set()
        for index, (_, location, _, values) in enumerate(uniforms):
            if held.get((program, location)) is not values:
                needed.add(index)
                held[(program, location)] = values
        sets.append(needed)
    return sets


def _texture_binds(gl, names: tuple[int, ...]) -> Calls:
    """Texture unit i gets names[i]: one multi-bind call where the context has it."""
    if not names:
        return []
    if gl.BindTextures is not None:
        return [(gl.BindTextures, (0, len(names), (ctypes.c_uint * len(names))(*names)))]
    return [call for unit, name in enumerate(names)
            for call in ((gl.ActiveTexture, (GL_TEXTURE0 + unit,)), (gl.BindTexture, (GL_TEXTURE_2D, name)))]


def _host_call(step: tuple, backend, slots: list) -> Callable[[], None]:
    if step[0] == "upload":
        _, texture, data = step
        return lambda: write_texels(texture, data)
    if step[0] == "host":
        return bind_host_step(step[1], slots, backend)
    if step[0] == "guard":
        return bind_guard(step[1], slots)
    return bind_host_upload(step[1], slots)
