"""Replayed execution plans: a steady call re-issues the draws a recorded call made, with no per-op
Python decisions (no kernel lookup, codegen key, layout choice or texture allocation).

Recording runs the model normally on a private texture pool, so every texture it touched belongs to
the plan. A run replays when its draws depend only on the input shapes, and on the shapes of what its
host steps compute (engine/webgl/host_steps.py: CPU kernels recorded with their inputs' sources and
guarded by their outputs' shapes): the feeds are uploaded up front with no host copy, so anything
else that reads a value on the CPU (a data-dependent size, control flow) has to download one, and
such a download during the recording, or a random op, voids it. Such models keep running through
the executor.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.webgl.gl import GL_TRIANGLES
from engine.webgl.host_steps import bind_host_step, bind_host_upload
from engine.webgl.textures import decode_texels, read_texels, write_texels

# Ops whose results change from call to call without their inputs changing.
UNREPEATABLE_OPS = frozenset({"RandomUniform", "RandomUniformInt", "RandomStandardNormal", "RandomGamma",
                              "RandomPoisson", "RandomPoissonV2", "RandomShuffle", "Multinomial",
                              "TruncatedNormal", "ParameterizedTruncatedNormal"})


@dataclass
class Recorder:
    """What a recorded call did, in order: ("draw", ...), ("upload", texture, float32 texels), ("host",
    HostStep) and ("host upload", HostUpload) steps."""

    steps: list = field(default_factory=list)
    feeds: list = field(default_factory=list)   # (feed key, texture, padded host buffer)
    void_reason: str | None = None
    op: str | None = None    # the op the backend runs now, to say what voided the recording
    slots: int = 0           # host values the host steps make
    handles: dict = field(default_factory=dict)  # id(handle a host step made) -> (slot, the handle)

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
    """A recorded call, replayable for inputs of the same shapes and dtypes."""

    def __init__(self, backend, recorder: Recorder, outputs: list[OutputSlot], pool):
        self.backend = backend
        self.outputs = outputs
        self.pool = pool
        self.feeds = recorder.feeds
        self.draws = sum(1 for step in recorder.steps if step[0] == "draw")
        # The value each uniform was last given, by any draw (the backend's): a shared (shape-generic)
        # program keeps its uniforms between calls, so a steady call sets only those that changed
        # since its previous draw, as a program per shape sets none.
        self._slots: list = [None] * recorder.slots
        self._steps = [_bind(step, backend, self._slots) for step in recorder.steps]
        self.last_issue_s = 0.0   # host time issuing the last replay's steps (Python + driver calls)

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
            started = time.perf_counter()
            for step in self._steps:
                step()
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
        """Gives the plan's textures back to the backend's pool (no GL call: any thread may)."""
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.merge_into(self.backend.textures)

    def __del__(self):
        self.discard()


def _bind(step: tuple, backend, slots: list):
    """A step as one closure over bound methods, so a replay does only the GL calls; a uniform whose
    last value (in the backend's `uniform_values`) is this very value object is not set again."""
    if step[0] == "upload":
        _, texture, data = step
        return lambda: write_texels(texture, data)
    if step[0] == "host":
        return bind_host_step(step[1], slots, backend)
    if step[0] == "host upload":
        return bind_host_upload(step[1], slots)
    set_values = backend.uniform_values
    _, framebuffer, textures, gl, program, uniforms = step
    uses = [(texture.use, unit) for unit, texture in enumerate(textures)]
    use_program, draw_arrays = gl.UseProgram, gl.DrawArrays

    # Keyed by program and location: bindings of one program may hold distinct value objects.
    keyed = [((program, location), setter, location, count, values) for setter, location, count, values in uniforms]

    def draw():
        framebuffer.use()
        for use, unit in uses:
            use(location=unit)
        use_program(program)
        for key, setter, location, count, values in keyed:
            if set_values.get(key) is not values:
                setter(location, count, values)
                set_values[key] = values
        draw_arrays(GL_TRIANGLES, 0, 3)
    return draw
