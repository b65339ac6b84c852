"""The JIT of warm-up (and of a first call's compile-ahead) on worker threads: llvmpipe JIT-compiles a
fragment shader at its first draw (~40 ms) and keeps the result in Mesa's disk cache, keyed by the
shader and its draw state. Workers, each with a context of its own (context.py's thread rules), link
and draw a share of the new programs into one pixel while the others do the same (ctypes releases
the GIL around GL calls, so the JITs overlap); the main context's own first draws then load the JIT
output from disk (~1 ms each).

Environment: TFGL_WARMUP_THREADS=N workers at most (0 or 1: none); default (or not a number) min(CPUs, 4).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import GLError
from engine.webgl.compiler import VERTEX_SHADER
from engine.webgl.context import create_context
from engine.webgl.gl import GL, GL_TRIANGLES

log = logging.getLogger("tfgl.webgl")
THREADS_VARIABLE = "TFGL_WARMUP_THREADS"
MAX_THREADS = 4


@dataclass(frozen=True)
class Job:
    """One program's first draw: its fragment source, sampler names in texture-unit order, and the
    (cols, rows, channels, moderngl dtype) of its input and output textures (as TextureManager makes
    them: the JIT's cache key holds the textures' formats and more)."""

    source: str
    samplers: tuple[str, ...]
    inputs: tuple[tuple[int, int, int, str], ...]
    output: tuple[int, int, int, str]


def texture_spec(texture) -> tuple[int, int, int, str]:
    """A moderngl texture's (cols, rows, channels, dtype), as a Job holds it."""
    return (*texture.size, texture.components, texture.dtype)


def wanted() -> int:
    """Workers the settings allow: TFGL_WARMUP_THREADS, else one per CPU, at most MAX_THREADS."""
    setting = os.environ.get(THREADS_VARIABLE, "").strip()
    return min(int(setting) if setting.isdigit() else os.cpu_count() or 1, MAX_THREADS)


def threads_for(jobs: int) -> int:
    """Workers for `jobs` programs; 0 when fewer than two would run (the main context JITs alone)."""
    threads = min(wanted(), jobs)
    return threads if threads > 1 else 0


def run(jobs: Sequence[Job], threads: int) -> list[float | None]:
    """Draws each job once on one of `threads` worker contexts; returns each job's link and first draw
    in ms (None for a job a failed worker left, with a log line: the main context's draw JITs it)."""
    errors: list[str] = []
    times: list[float | None] = [None] * len(jobs)
    indices = range(len(jobs))
    workers = [threading.Thread(target=_work, args=(jobs, indices[i::threads], times, errors), name=f"tfgl-jit-{i}",
                                daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        log.info("warmup: parallel JIT failed (%s); the main context compiles the rest", errors[0])
    return times


def _work(jobs: Sequence[Job], indices: Sequence[int], times: list, errors: list[str]) -> None:
    ctx = None
    try:
        ctx = create_context()
        with ctx:
            done = _draw_all(ctx, jobs, indices)
            error = ctx.error
            if error != "GL_NO_ERROR":
                raise GLError(f"OpenGL error {error} in a warm-up worker")
        for index, ms in done.items():
            times[index] = ms
    except Exception as error:  # a worker only saves time: any failure leaves the work to the main context
        errors.append(str(error).splitlines()[0] if str(error) else type(error).__name__)
    finally:
        if ctx is not None:
            ctx.release()  # its programs, textures and framebuffers go with it


def _draw_all(ctx, jobs: Sequence[Job], indices: Sequence[int]) -> dict[int, float]:
    gl = GL(ctx.tfgl_proc_address)
    # Kept until the context goes: moderngl rebinds its last framebuffer after making one, so none
    # may be deleted before.
    inputs: dict[tuple, object] = {}
    outputs: dict[tuple, object] = {}
    done = {}
    for index in indices:
        job = jobs[index]
        started = time.perf_counter()
        program = gl.compile(VERTEX_SHADER, job.source)
        gl.set_samplers(program, gl.uniforms(program), job.samplers)
        if job.output not in outputs:  # apart from inputs: a draw never reads what it writes
            outputs[job.output] = ctx.framebuffer(color_attachments=[_texture(ctx, job.output)])
            outputs[job.output].viewport = (0, 0, 1, 1)
        outputs[job.output].use()
        for unit, spec in enumerate(job.inputs):
            if spec not in inputs:
                inputs[spec] = _texture(ctx, spec)
            inputs[spec].use(location=unit)
        gl.UseProgram(program)
        gl.BindVertexArray(gl.empty_vao)
        gl.DrawArrays(GL_TRIANGLES, 0, 3)
        ctx.finish()
        gl.DeleteProgram(program)
        done[index] = (time.perf_counter() - started) * 1e3
    return done


def _texture(ctx, spec: tuple[int, int, int, str]):
    return ctx.texture(spec[:2], spec[2], dtype=spec[3])
