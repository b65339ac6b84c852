"""Replayed execution plans: a steady call re-issues the draws a recorded call made, with no per-op
Python decisions (no kernel lookup, codegen key, layout choice or texture allocation).

Recording runs the model normally on a private texture pool, so every texture it touched belongs to
the plan. A run replays exactly when its draws depend only on the input shapes: the feeds are
uploaded up front with no host copy, so any op that reads a value on the CPU (a data-dependent shape,
control flow, a CPU fallback) has to download one, and any download during the recording, or a
random op, voids it. Such models keep running through the executor.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.webgl.gl import GL_TRIANGLES
from engine.webgl.textures import decode_texels, read_texels, write_texels

# Ops whose results change from call to call without their inputs changing.
UNREPEATABLE_OPS = frozenset({"RandomUniform", "RandomUniformInt", "RandomStandardNormal", "RandomGamma",
                              "RandomPoisson", "RandomPoissonV2", "RandomShuffle", "Multinomial",
                              "TruncatedNormal", "ParameterizedTruncatedNormal"})


@dataclass
class Recorder:
    """What a recorded call did, in order: ("draw", ...) and ("upload", texture, float32 texels) steps."""

    steps: list = field(default_factory=list)
    feeds: list = field(default_factory=list)   # (feed key, texture, padded host buffer)
    void_reason: str | None = None

    def void(self, reason: str) -> None:
        if self.void_reason is None:
            self.void_reason = reason


@dataclass
class OutputSlot:
    texture: object | None      # None: a value fixed by the input shapes (computed on the CPU)
    packed_shape: tuple | None
    size: int
    dtype: str
    shape: tuple
    constant: np.ndarray | None = None


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
        self._steps = [_bind(step, backend.uniform_values) for step in recorder.steps]
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


def _bind(step: tuple, set_values: dict):
    """A step as one closure over bound methods, so a replay does only the GL calls; a uniform whose
    last value (in `set_values`) is this very value object is not set again."""
    if step[0] == "upload":
        _, texture, data = step
        return lambda: write_texels(texture, data)
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
