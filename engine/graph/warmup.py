"""Warm-up without running the model: one dry run through the executor on a backend's compile-only
mode compiles every program a call with given input shapes needs (llvmpipe JIT-compiles a shader at
its first draw, ~40 ms each, so a model's first call costs 15-70x its steady state).

The dry run reads zeros wherever an op reads a value back on the CPU, so data-dependent shapes and
control flow follow the zero path, but where a dynamic-shape op has a stand-in that keeps the most
(engine.kernels.cpu.dynamic) or a scalar pick has a known input to guess (a count capped by a
constant, backends/webgl/dry_run.py). If a guess leads it astray (a cap above the size the count is
taken from), the run goes again without guesses. A feed reads back its own values, and what GL
kernels make of them where it may size later work is computed again on the CPU (a resize ratio given
as an example array, times the image's size on the GPU, sizes the run as in the call). If the zero
path fails too (a shape zeros make impossible), warm-up runs the model once for real on its examples
(zeros where a shape was given) instead, and says so in a log line; where that fails too, the error
says to give example arrays. What the first call would do anyway, warm-up does for real: it uploads
the weights the GL kernels read and makes the textures the call holds at once, so that the first
call after it is the math and its inputs' uploads.

A model's first call with new input shapes compiles ahead by itself where the backend JITs a dry
run's programs in parallel (Mesa's disk cache on, more than one CPU): the workers compile while the
call would otherwise JIT one program after another. Where a process before it left the programs in
tfgl's program binaries, that dry run stops after its first few programs (walking the rest of the
graph would only load them a call early). TFGL_COMPILE_AHEAD=0 turns compiling ahead off.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from engine import dtypes
from engine.errors import InputError, KernelError, TfglError
from engine.graph.plan import TensorKey
from engine.tensors import Tensor

log = logging.getLogger("tfgl.warmup")
AUTO_VARIABLE = "TFGL_COMPILE_AHEAD"

Run = Callable[[Mapping[TensorKey, Tensor]], list]


def example_values(infos: Sequence, given: Any = None) -> list[np.ndarray]:
    """One array per input (in `infos` order) for a warm-up: `given` may be None (the signature's
    shapes, unknown dimensions 1), or a dict by input name / a list in input order of shapes or
    example arrays; a single-input model also takes one shape or array. Shapes become zeros."""
    if given is None:
        chosen = [None] * len(infos)
    elif isinstance(given, Mapping):
        unknown = [k for k in given if k not in {i.name for i in infos}]
        if unknown:
            raise InputError(f"unknown input(s) {', '.join(map(str, unknown))} for warmup; the model's inputs are: "
                             f"{', '.join(i.name for i in infos)}")
        chosen = [given.get(info.name) for info in infos]
    elif len(infos) == 1 and (_is_shape(given) or not isinstance(given, (list, tuple))):
        chosen = [given]
    elif isinstance(given, (list, tuple)) and len(given) == len(infos):
        chosen = list(given)
    else:
        raise InputError(f"warmup takes a dict by input name or a list of {len(infos)} shapes or arrays")
    return [_example(info, value) for info, value in zip(infos, chosen)]


def _is_shape(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(d, (int, np.integer)) for d in value)


def _example(info, value: Any) -> np.ndarray:
    if value is None:
        value = tuple(1 if d is None else d for d in (info.shape or ()))
    if _is_shape(value):
        if info.dtype == "string":
            return np.full(tuple(value), b"", dtype=object)
        return np.zeros(tuple(int(d) for d in value), dtypes.NUMPY_OF[info.dtype])
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def compiles_ahead_on_first_call(backend) -> bool:
    """Whether a first call on `backend` compiles ahead: where its dry runs compile in parallel."""
    return getattr(backend, "compiles_in_parallel", False) and \
        os.environ.get(AUTO_VARIABLE, "1").strip().lower() not in ("0", "false", "no", "off")


def compile_ahead(backend, run: Run, feeds: Mapping[TensorKey, Tensor], first_call: bool = False) -> None:
    """Compiles what `run(feeds on the GPU)` needs with the backend's compile-only mode; a backend with
    nothing to compile (the CPU) does nothing. warmup() also has the backend upload the model's
    constants that the run reads on the GPU and make the textures it holds, so that the first call
    does only the math. If the dry run fails, warmup() runs the model once on its examples instead; a
    `first_call` (about to run anyway) does nothing more, and its dry run stops early where the
    programs come from tfgl's program binaries (the call loads them as it goes)."""
    compile_only = getattr(backend, "compile_only", None)
    if compile_only is None:
        return
    with backend.session():
        error = _dry_run(backend, compile_only, run, feeds, first_call)
        if error is None:
            return
        if first_call:
            log.info("first call: the compile-only run failed on the values it read back (%s); compiling as it runs",
                     str(error).splitlines()[0])
            return
        log.info("warmup: the compile-only run failed on the values it read back (%s); running once on the "
                 "examples instead", str(error).splitlines()[0])
        try:
            outputs = run(backend.feeds_on_gpu(feeds))
        except KernelError as failure:
            raise InputError(f"warmup: the model cannot run on its warm-up inputs ({str(failure).splitlines()[0]}); "
                             f"where an input's values size the work, give warmup() an example array for it (a "
                             f"shape stands for zeros), e.g. model.warmup({{name: array, ...}})") from failure
        for tensor in outputs:
            tensor.dispose()


def _dry_run(backend, compile_only, run: Run, feeds: Mapping[TensorKey, Tensor], first_call: bool) -> TfglError | None:
    """The compile-only run, and once more without guesses where it failed after one steered it (a cap
    above what the count is taken from: backends/webgl/dry_run.py's GUESSES); the failure, if any."""
    failure = None
    for guesses in (True, False):
        dry = None
        try:
            with compile_only(stop_when_cached=first_call, warmup=not first_call, guesses=guesses) as dry:
                run(backend.feeds_on_gpu(feeds))
            return None
        except TfglError as error:
            failure = error
            if dry is None or not dry.guessed:  # no guess to take back
                break
            log.info("%s: the compile-only run failed with guessed values (%s); again without",
                     "first call" if first_call else "warmup", str(error).splitlines()[0])
    return failure
