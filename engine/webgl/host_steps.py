"""Host steps of a recorded plan: CPU kernels inside a replay (non-max suppression, ops without a GL
kernel, CPU fallbacks), and guards on the values a recorded call read on the CPU, so that models
with such ops, or with control flow that takes the same branches call after call, replay all the same.

While recording, a CPU kernel whose inputs come from the GPU or from an earlier host step becomes a
step: its GPU inputs are read back (without caching the values on their tensors), it runs, and its
outputs are host values (HostValue), held in numbered slots. A replay runs the same kernel on the
same sources: textures read at the same point of the plan, slots, constants. A host value uploaded
for a GL kernel is uploaded again from its slot. Each step's outputs carry a guard, the shapes and
dtypes they had when recorded: a replay that gets others (non-max suppression selects as many boxes
as the scores allow) stops with ReplayMiss, and the call runs through the executor instead
(engine/graph/replay.py records again).

Any other read of a value on the CPU (a branch of control flow, a size, an attribute: the plan bakes
the value in) becomes a guard step: a replay reads the value again at the same point and stops with
ReplayMiss unless it is the same, bit for bit. Reads of more than GUARD_MAX_VALUES values void the
recording instead: comparing them would cost a replay what it saves.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import dtypes
from engine.tensors import Tensor
from engine.webgl.textures import decode_texels, read_texels, texels_of, write_texels


GUARD_MAX_VALUES = 128


class ReplayMiss(Exception):
    """A guard of a recorded plan no longer holds (or a host step failed): run the executor instead."""


class HostValue:
    """A host step's output during a recording (a tensor's device data): its values stay on the host,
    and only host steps and uploads may read them without voiding the recording."""

    __slots__ = ("backend", "values", "slot", "op", "__weakref__")

    def __init__(self, backend, values: np.ndarray, slot: int, op: str):
        self.backend, self.values, self.slot, self.op = backend, values, slot, op

    def download(self) -> np.ndarray:
        recorder = self.backend.recorder
        if recorder is not None:
            guard(recorder, ("slot", self.slot, (self.values.size,)), self.values.reshape(-1),
                  f"a value {self.op} computed there")
        return self.values.reshape(-1)

    def retain(self) -> None:
        pass

    def release(self) -> None:
        pass


def host_value(backend, tensor: Tensor) -> HostValue | None:
    data = tensor.device_data
    return data if isinstance(data, HostValue) and data.backend is backend else None


@dataclass(frozen=True)
class HostStep:
    op: str
    fn: Callable
    attrs: dict
    # per input: ("texture", texture, packed shape, size, dtype, shape), ("slot", n, shape) or ("constant", value)
    sources: list
    outputs: list      # per output: (slot, (shape, dtype) it had when recorded; None for a handle)


@dataclass(frozen=True)
class HostUpload:
    slot: int
    shape: tuple       # the values' shape as uploaded (a packed upload may view them under another)
    texture: object
    rows: int
    cols: int
    packed: bool


def run_recorded(backend, recorder, kernel, inputs: list, attrs: dict) -> list:
    """Runs a CPU kernel during a recording: as a host step if any input comes from the GPU or from a
    host step (its outputs are then host values), or if it makes a handle (a TensorArray is mutable:
    each replay needs its own); else as usual (its outputs depend on shapes only)."""
    sources, args = zip(*(_source(backend, recorder, x) for x in inputs)) if inputs else ((), ())
    results = _run(kernel.fn, args, attrs)
    if all(source[0] == "constant" for source in sources) and all(_is_array(value) for value in results):
        return [_as_tensor(value) for value in results]
    outputs, out = [], []
    for value in results:
        slot = recorder.new_slot()
        if _is_array(value):
            array = dtypes.to_storage(np.asarray(value))
            dtype = dtypes.dtype_of_array(array)
            outputs.append((slot, (array.shape, dtype)))
            out.append(Tensor(None, dtype, array.shape, device=HostValue(backend, array, slot, kernel.op)))
        else:  # a handle (TensorList, ...): later host steps take it from its slot
            recorder.handles[id(value)] = (slot, value)
            outputs.append((slot, None))
            out.append(value)
    recorder.steps.append(("host", HostStep(kernel.op, kernel.fn, dict(attrs), list(sources), outputs)))
    return out


def _source(backend, recorder, x: Any) -> tuple[tuple, Any]:
    """Where a replay finds input `x` of a host step, and its value now."""
    if not isinstance(x, Tensor):
        handle = recorder.handles.get(id(x))
        return (("slot", handle[0], None), x) if handle is not None else (("constant", x), x)
    host = host_value(backend, x)
    if host is not None:
        return ("slot", host.slot, x.shape), host.values.reshape(x.shape)
    data = backend.gl_data(x)
    if x.has_values() or data is None:
        return ("constant", x.numpy()), x.numpy()
    source = ("texture", data.texture, data.packed_shape, data.size, data.dtype, x.shape)
    return source, _read(source, backend.read_back(data))


def _read(source: tuple, raw: np.ndarray) -> np.ndarray:
    _, _, packed_shape, size, dtype, shape = source
    return dtypes.to_storage(decode_texels(raw, packed_shape, size, dtype), dtype).reshape(shape)


def _run(fn: Callable, args, attrs: dict) -> list:
    """A CPU kernel's outputs as a list, as the backends take them (tensors as their values)."""
    with np.errstate(all="ignore"):  # NaN/Inf results follow IEEE, as in TensorFlow
        result = fn(*args, **attrs)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    return [value.numpy() if isinstance(value, Tensor) else value for value in outputs]


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, bool, int, float, bytes))


def _as_tensor(value: Any) -> Any:
    if not _is_array(value):
        return value
    array = dtypes.to_storage(np.asarray(value))
    return Tensor(array, dtypes.dtype_of_array(array))


@dataclass(frozen=True)
class Guard:
    reader: str        # who read the value: an op, or control flow
    source: tuple      # where a replay reads it: as a host step's sources
    expected: np.ndarray


def guard(recorder, source: tuple, values: np.ndarray, what: str) -> None:
    """Notes that the recorded call read `values` (from `source`) on the CPU: a replay checks them."""
    if values.size > GUARD_MAX_VALUES:
        recorder.void(f"{recorder.reader()} reads on the CPU {values.size} values ({what})")
    else:
        recorder.steps.append(("guard", Guard(recorder.reader(), source, values.copy())))


def guard_texture(recorder, data, raw: np.ndarray) -> None:
    """A guard on the values of `data` (GLTensorData), whose texels `raw` the recorded call read back."""
    source = ("texture", data.texture, data.packed_shape, data.size, data.dtype, (data.size,))
    guard(recorder, source, _read(source, raw), "a value of the GPU")


def record_upload(recorder, host: HostValue, shape: tuple, data) -> None:
    """Notes that a host value went up into `data`'s texture: a replay uploads it from its slot."""
    recorder.steps.append(("host upload", HostUpload(host.slot, tuple(shape), data.texture, data.rows, data.cols,
                                                     data.packed)))


# -- replaying ----------------------------------------------------------------------------------------------
def bind_host_step(step: HostStep, slots: list, backend) -> Callable[[], None]:
    """The step as a closure over the replay's slots; raises ReplayMiss when a guard fails."""
    readers = [_reader(source, slots) for source in step.sources]
    fn, attrs, outputs, op = step.fn, step.attrs, step.outputs, step.op
    downloads = sum(1 for source in step.sources if source[0] == "texture")

    def run() -> None:
        args = [read() for read in readers]
        try:
            results = _run(fn, args, attrs)
        except Exception as error:  # the executor raises it again, naming the node
            raise ReplayMiss(f"{op} failed: {error}") from error
        for value, (slot, guard) in zip(results, outputs):
            if guard is not None:
                value = dtypes.to_storage(np.asarray(value))
                if (value.shape, dtypes.dtype_of_array(value)) != guard:
                    raise ReplayMiss(f"{op} gave shape {list(value.shape)} where the plan has {list(guard[0])}")
            slots[slot] = value
        backend.stats.downloads += downloads
    return run


def _reader(source: tuple, slots: list) -> Callable[[], Any]:
    kind = source[0]
    if kind == "constant":
        value = source[1]
        return lambda: value
    if kind == "slot":
        _, slot, shape = source
        return (lambda: slots[slot]) if shape is None else (lambda: slots[slot].reshape(shape))
    texture = source[1]
    return lambda: _read(source, read_texels(texture))


def bind_guard(step: Guard, slots: list) -> Callable[[], None]:
    """The guard as a closure: raises ReplayMiss unless the value it reads is the one recorded."""
    read, reader, expected = _reader(step.source, slots), step.reader, step.expected
    expected_bytes = expected.tobytes()

    def check() -> None:
        value = read()
        if value.dtype != expected.dtype or value.tobytes() != expected_bytes:
            raise ReplayMiss(f"{reader} read {_short(value)} on the CPU where the plan has {_short(expected)}")
    return check


def _short(values: np.ndarray) -> str:
    return np.array2string(values.reshape(-1)[:8], threshold=8)


def bind_host_upload(step: HostUpload, slots: list) -> Callable[[], None]:
    slot, shape, texture, rows, cols, packed = step.slot, step.shape, step.texture, step.rows, step.cols, step.packed
    return lambda: write_texels(texture, texels_of(slots[slot].reshape(shape), rows, cols, packed))
