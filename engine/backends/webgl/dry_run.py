"""What a compile-only run (the WebGL backend's warm-up dry run) makes and must delete when it ends,
and the first draws it puts off until the parallel JIT workers have filled the driver's cache."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from engine import dtypes
from engine.backends.base import run_cpu_kernel
from engine.kernels.cpu.control import TensorList
from engine.kernels.registry import DRY_RUN, get_kernel
from engine.tensors import Tensor
from engine.webgl import parallel_jit
from engine.webgl.programs import CompiledProgram, Stats
from engine.webgl.replay import UNREPEATABLE_OPS
from engine.webgl.texture_pool import TextureManager, texture_key
from engine.webgl.textures import GLTensorData, decode_texels, is_power_of_two

# A first call's dry run stops once this many programs came from tfgl's program binaries and none
# from source: the model ran before with these shapes, so the rest come from the binaries too, and
# loading them as the call reaches them costs less than walking the graph twice (MediaPipe selfie's
# warm first call: 245 -> 210 ms on llvmpipe). A program that must compile keeps the walk going: its
# JIT is what the parallel workers are for.
LOADED_PROGRAMS_TO_STOP = 8


# Guesses for a scalar that a dry run cannot compute. Detection post-processing caps a count summed on
# the GPU with a known bound, min(count, 100) as Select(bound > count, count, bound) or Minimum, and
# sizes a Range with it: read back as zeros, the count sizes everything after it empty, and leaves
# its programs to the first call (handtrack: 2). Minimum's known input bounds it from above, so the
# run takes that; a Select on an unknown condition takes the larger branch (the cap over a count
# read as zero; a sentinel -1 under it stays on the zero path). Each rule gets whether each input is
# known and the values the run has for them (known, a feed's, guessed, or zeros). A guess only
# steers the dry run: if the run fails with guesses, warm-up runs it again without
# (engine/graph/warmup.py).
def _select_guess(known: list[bool], values: list[np.ndarray]) -> np.ndarray:
    condition, *branches = values
    return np.where(condition, *branches) if known[0] else np.maximum(*branches)


def _minimum_guess(known: list[bool], values: list[np.ndarray]) -> np.ndarray:
    return values[known.index(True)] if known.count(True) == 1 else np.minimum(*values)


GUESSES = {"Select": _select_guess, "SelectV2": _select_guess, "Minimum": _minimum_guess}

# Ops that read a container's structure, not its elements: known even where the elements are not.
STRUCTURE_OPS = frozenset({"TensorListLength", "TensorListElementShape", "TensorArraySizeV3"})

# What a dry run computes again on the CPU of what a GL kernel drew (DryRun.carry): values that may size
# or index later work, small ones or integers (sparse indices: 200,018 in VS Code's language
# detection), never an image model's activations; and from inputs of at most CARRIED_VALUES each.
SMALL_VALUES = 128
CARRIED_VALUES = 1 << 18


class ProgramsAreCached(Exception):
    """Ends a first call's dry run early (LOADED_PROGRAMS_TO_STOP); compile_only() swallows it."""


class ThrowawayPool(TextureManager):
    """A compile-only run's textures: stand-ins a few texels wide that keep what a driver compiles into
    a shader from texture sizes (llvmpipe: whether each side is a power of two, textures.padded_side),
    not the memory: one pixel is drawn, and what it reads out of bounds is never used. The pool
    remembers every texture it made, to delete them all at the end, and how many of each size the run
    held at once (`peak`: what a real call with these shapes allocates)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.made: list = []
        self.peak: Counter = Counter()
        self._held: Counter = Counter()

    def allocated_size(self, cols: int, rows: int) -> tuple[int, int]:
        return tuple(1 if is_power_of_two(n) else 3 for n in super().allocated_size(cols, rows))

    def acquire(self, rows: int, cols: int, channels: int = 1, dtype: str = "f4"):
        created = self.created
        texture = super().acquire(rows, cols, channels, dtype)
        if self.created != created:
            self.made.append(texture)
        key = (cols, rows, channels, dtype)
        self._held[key] += 1
        self.peak[key] = max(self.peak[key], self._held[key])
        return texture

    def release(self, texture) -> None:
        self._held[texture_key(texture)] -= 1
        super().release(texture)


@dataclass
class DeferredDraw:
    compiled: CompiledProgram
    job: parallel_jit.Job
    fbo: object
    textures: list
    uniforms: list
    name: str
    layouts: str
    link_ms: float


@dataclass
class DryRun:
    """What a compile-only run made, deleted when it ends: uploads it attached to tensors (a weight
    among them; kernels alias a tensor once uploaded, as a real run's do, so they take the same
    paths), and those it kept aside, and twins. Keyed by id() with the object held, so an id is
    never reused meanwhile. A warm-up's run (`warmup`) uploads the model's constants for real instead,
    into the backend's own pool (`real_pool`): a first call would upload them anyway."""

    pool: ThrowawayPool
    real_pool: TextureManager | None = None
    warmup: bool = False
    # (weak reference to a tensor, the upload it was given): a tensor the run drops releases its own
    attached: list = field(default_factory=list)
    uploads: dict = field(default_factory=dict)       # id(tensor) -> (tensor, its upload)
    twins: dict = field(default_factory=dict)         # id(data) -> (data, {layout key: twin})
    framebuffers: dict = field(default_factory=dict)  # texture glo -> one-pixel framebuffer
    # DeferredDraws: new programs' (and new driver variants') first draws, made after the workers' (None:
    # draw at once)
    deferred: list | None = None
    stop_when_cached: bool = False  # a first call's dry run: stop once programs prove to be cached
    # Values the run never computed: device data read back (zeros, a guess, or a feed's values), and
    # host values and containers made from them (`made`). Only ops fed from them run their stand-ins
    # (engine.kernels.cpu.dynamic.LARGEST).
    read_unknown: dict = field(default_factory=dict)  # id(data) -> data
    made_of_unknowns: dict = field(default_factory=dict)  # id(tensor or container) -> it
    # id(data) -> (data, what reading it back gives: a feed's own values, a guess, or what a GL kernel
    # made of those (`carry`))
    read_values: dict = field(default_factory=dict)
    # id(tensor, container or data) -> it: values a call would have too (a feed's, a guess, and what ops
    # made of those alone), where the run has them
    believed_values: dict = field(default_factory=dict)
    guessing: bool = True   # whether GUESSES apply
    guessed: bool = False   # whether one did
    linked_before: tuple[int, int] = (0, 0)  # the backend's (programs loaded, compiled) when it began

    def check_cached(self, stats: Stats) -> None:
        """Raises ProgramsAreCached once the walk can stop: the programs linked since it began
        (`stats`, the backend's) all came from binaries, and enough of them."""
        loaded, compiled = self.linked_before
        if self.stop_when_cached and stats.programs_compiled == compiled \
                and stats.programs_loaded - loaded >= LOADED_PROGRAMS_TO_STOP:
            raise ProgramsAreCached

    def unknown(self, value) -> bool:
        """Whether an input, a tensor or a container (TensorList, TensorArray, table), holds values the
        run never computed (reading it back gives zeros, a guess, or a feed's values: zeros where
        warm-up was given a shape): a constant's or a shape's are known, and what ops made of known
        values on the host."""
        if id(value) in self.made_of_unknowns:
            return True
        if not isinstance(value, Tensor):
            return False
        data = value.device_data
        return data is not None and (not value.has_values() or id(data) in self.read_unknown)

    def note_unknown(self, values: list) -> None:
        self.made_of_unknowns.update((id(value), value) for value in values)

    def made(self, op: str, inputs: list, outputs: list, attrs: dict | None = None) -> list:
        """An op's outputs (`attrs` given: a GL kernel's), noted unknown where it was fed unknown
        values: the host values it made (a GL kernel's too: a slice by unknown bounds), TensorLists
        among them (a list holding an unknown element stacks into unknown values), and the containers
        it was given (a TensorArray, a hash table: written into, or read, which costs a stand-in at
        worst); not what it read off a container's structure alone (a length). What a GL kernel drew
        is unknown anyway (the run computes no texture), but reading it back may give values
        (`carry`). Made of believed values alone, by an op that gives the same every call and is no
        stand-in, they are believed. Then guessed (GUESSES)."""
        if not any(self.unknown(x) for x in inputs):
            return outputs
        believed = op not in UNREPEATABLE_OPS and all(self.believed(x) for x in inputs)
        on_host = [out for out in outputs if out is not None and (not isinstance(out, Tensor) or out.has_values())]
        handles = [x for x in inputs if x is not None and not isinstance(x, (Tensor, TensorList))]
        if op not in STRUCTURE_OPS:
            self.note_unknown(on_host + handles)
        if believed and get_kernel(op, DRY_RUN) is None:  # a stand-in keeps the most: no value a call computes
            self.believed_values.update((id(value), value) for value in on_host + handles)
        else:
            for handle in handles:  # what it wrote into holds values no call computes
                self.believed_values.pop(id(handle), None)
        if attrs is not None:
            self.carry(op, inputs, outputs, attrs, believed)
        return self.guess(op, inputs, outputs)

    def believed(self, value) -> bool:
        """Whether the run has values for an input it may not have computed that a call would have:
        known ones, a feed's, a guess, and what ops made of those alone."""
        if not self.unknown(value) or id(value) in self.believed_values:
            return True
        data = value.device_data if isinstance(value, Tensor) else None
        return data is not None and id(data) in self.believed_values

    def carry(self, op: str, inputs: list, outputs: list, attrs: dict, believed: bool) -> None:
        """What a GL kernel fed unknown values drew from host values (a stand-in's too) or believed ones,
        where it may size or index later work (SMALL_VALUES, CARRIED_VALUES), is computed again by its
        CPU kernel: reading it back gives that, as the CPU kernel would have, and it is believed where
        they all are. RVM sizes a resize by its `downsample_ratio` input times the image's size,
        multiplied on the GPU; a count's guess, minus one on the GPU, still sizes a range; a tokenizer
        slices the rows out of sparse indices on the GPU. Zeros read back carry nothing: the guesses
        take them as they are."""
        drawn = [out for out in outputs if isinstance(out, Tensor) and not out.has_values()]
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        kernel = get_kernel(op, "cpu")
        if not drawn or kernel is None or any(t.size > CARRIED_VALUES for t in tensors + drawn) \
                or not all(t.dtype in ("int32", "bool") or t.dtype == "float32" and t.size <= SMALL_VALUES
                           for t in drawn) \
                or not all(t.has_values() or self.believed(t) for t in tensors):
            return
        try:
            values = run_cpu_kernel(kernel, [Tensor(self._host_view(x), x.dtype) if isinstance(x, Tensor) else x
                                             for x in inputs], attrs)
        except Exception:  # noqa: BLE001 - values no call meets (a guess's, a stand-in's): read back as zeros
            return
        for out, value in zip(outputs, values):
            if isinstance(out, Tensor) and not out.has_values() and isinstance(value, Tensor) \
                    and value.shape == out.shape:
                data = out.device_data
                self.read_values[id(data)] = (data, value.numpy())
                if believed:
                    self.believed_values[id(data)] = data

    def feed(self, data: GLTensorData, values: np.ndarray) -> None:
        """A feed uploaded with no bytes moved: reading it back gives its values, so what a model sizes
        by an input's value (a resize ratio) is sized as in the call. They are believed, but zeros: what
        warm-up makes of an input given as a shape, where a count read back is better guessed."""
        self.read_values[id(data)] = (data, values)
        if np.any(values):
            self.believed_values[id(data)] = data

    def read(self, data: GLTensorData) -> np.ndarray:
        """Reading back data the run never drew: a feed's values, a guess or what `carry` computed, else
        zeros (not a dry texture's garbage: a value read on the CPU may size later work)."""
        self.read_unknown[id(data)] = data
        if id(data) in self.read_values:
            return self.read_values[id(data)][1].reshape(-1).copy()
        texels = data.rows * data.cols * (4 if data.packed else 1)
        return decode_texels(np.zeros(texels, np.float32), data.packed_shape, data.size, data.dtype)

    def guess(self, op: str, inputs: list, outputs: list) -> list:
        """`outputs`, with a guess where GUESSES has one for a scalar `op` made from unknown inputs. A GL
        output stays on the GPU, as in a real call, so that the ops reading it take the GL kernels
        whose programs the run is for; its guess is what reading it back gives, and what GL ops make
        of it (`carry`: Sub(min(count, 7), 1) on the GPU reads back 6). A CPU output is replaced.
        Both are believed. A guess takes over from believed values too (an example's count of 0):
        warm-up readies the model for calls with other values."""
        rule = GUESSES.get(op) if self.guessing else None
        if rule is None or len(outputs) != 1 or not isinstance(outputs[0], Tensor) or outputs[0].size != 1:
            return outputs
        known = [not self.unknown(x) for x in inputs]
        if all(known):
            return outputs
        output = outputs[0]
        values = dtypes.to_storage(rule(known, [self._host_view(x) for x in inputs]), output.dtype)
        values = values.reshape(output.shape)
        self.guessed = True
        data = output.device_data
        if data is not None and not output.has_values():
            self.read_values[id(data)] = (data, values)
            self.believed_values[id(data)] = data
            return outputs
        guessed = Tensor(values, output.dtype)
        self.note_unknown([guessed])
        self.believed_values[id(guessed)] = guessed
        return [guessed]

    def _host_view(self, value) -> np.ndarray:
        """An input's values as the run sees them, reading nothing back: known, a feed's, guessed, or
        zeros."""
        if not isinstance(value, Tensor):
            return np.asarray(value)
        data = value.device_data
        if data is not None and id(data) in self.read_values:  # a reshape shares its input's data
            return self.read_values[id(data)][1].reshape(value.shape)
        if value.has_values():
            return value.numpy()
        return np.zeros(value.shape, dtypes.NUMPY_OF[value.dtype])

    def note_views(self, inputs: list, outputs: list) -> None:
        """A shape op's outputs that view an unknown input's host values (Reshape, Squeeze, Identity)
        are unknown too; what it computes from shapes alone (Shape, Size) is known."""
        unknown = [x.numpy() for x in inputs if isinstance(x, Tensor) and x.has_values() and self.unknown(x)]
        if unknown:
            self.note_unknown([out for out in outputs if isinstance(out, Tensor) and out.has_values()
                               and any(np.may_share_memory(out.numpy(), values) for values in unknown)])

    def twins_of(self, data: GLTensorData) -> dict:
        return self.twins.setdefault(id(data), (data, {}))[1]

    def discard(self) -> None:
        for ref, data in self.attached:
            tensor = ref()
            if tensor is not None and tensor.device_data is data:
                tensor.dispose()
        for _, data in self.uploads.values():
            data.release()
        for _, twins in self.twins.values():
            for twin in twins.values():
                twin.release()
        for fbo in self.framebuffers.values():
            fbo.release()
        for texture in self.pool.made:
            texture.release()
        self.attached, self.uploads, self.twins, self.framebuffers, self.pool.made = [], {}, {}, {}, []
        self.read_unknown, self.made_of_unknowns, self.read_values, self.believed_values = {}, {}, {}, {}
