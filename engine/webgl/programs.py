"""The WebGL backend's linked programs: compiled on first use, or loaded from tfgl's program binaries
(program_cache.py), and cached by what their GLSL is made of: every shape, as TF.js's shader key does,
or for the families that are free in steady state with shapes as uniforms (TF.js's
WEBGL_USE_SHAPES_UNIFORMS; Program.shape_uniforms, shape_uniforms.py) the layouts' structure, so shapes
share programs; TFGL_SHAPE_UNIFORMS=1 or 0 makes every program one or the other.

A context keeps at most TFGL_LINKED_PROGRAMS of them (default 256) beyond those its live replay plans
draw: the families made per shape (pools, pads, broadcasts) would otherwise pile up programs as input
shapes come and go. Past that, each program linked deletes those bound longest ago; they are linked
again (from the program binaries, where that cache is on) when needed again.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from engine.errors import GLError
from engine.settings import whole_number
from engine.webgl import program_cache, shader_cache, shape_uniforms
from engine.webgl.compiler import (
    VERTEX_SHADER, Layout, check_ranks, fragment_source, generic_fragment_source, structures,
)
from engine.webgl.gl import GL, Uniform
from engine.webgl.half_float import OutputStorage
from engine.webgl.program import Program
from engine.webgl.textures import is_power_of_two

PROGRAMS_VARIABLE = "TFGL_LINKED_PROGRAMS"
DEFAULT_PROGRAMS = 256
BINDINGS_PER_PROGRAM = 16  # exact layouts remembered per program kept, on average


def linked_programs_kept(environ: Mapping[str, str] = os.environ) -> int:
    """How many linked programs a context keeps beyond those its live replay plans draw: the biggest
    bench model needs 57, and 118 with shape uniforms off."""
    return whole_number(PROGRAMS_VARIABLE, DEFAULT_PROGRAMS, minimum=1, environ=environ)


@dataclass
class Stats:
    """The backend's counters, its programs' among them."""

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
    textures_evicted: int = 0  # free textures deleted past the pool's limit (TFGL_TEXTURE_POOL_MB)
    programs_evicted: int = 0  # linked programs deleted past TFGL_LINKED_PROGRAMS
    # (program name, its layouts in short, ms) per program compiled, in order: the first draw included
    program_compiles: list = field(default_factory=list)

    @property
    def programs_made(self) -> int:
        """Programs this backend made, from source or binary."""
        return self.programs_compiled + self.programs_loaded

    def as_dict(self) -> dict:
        return dict(self.__dict__, cpu_fallbacks=dict(self.cpu_fallbacks), program_compiles=list(self.program_compiles))


@dataclass(eq=False)
class CompiledProgram:
    program: int                  # the GL program object (engine/webgl/gl.py)
    uniforms: dict[str, Uniform]  # its active uniforms
    source: str = field(repr=False)  # its fragment shader, for warm-up's workers (parallel_jit.py)
    # driver_variant()s drawn, or handed to warm-up's workers: the driver finishes compiling at each
    # one's first draw (llvmpipe JITs there), and a shape-generic program meets textures of many sizes
    variants: set = field(default_factory=set)
    # Loaded from tfgl's program binaries: the driver's JIT output is cached beside them (written by the
    # same first draw), so warm-up's workers would only load it a second time.
    from_binary: bool = False
    last_bound: int = 0  # ProgramStore's tick at its latest bind: the least recent go first

    def bound(self, values: dict) -> list[tuple]:
        """(setter, location, count, values) per uniform of `values` that the linked program kept: the
        compiler may drop unused uniforms, or shorten an array whose tail is never read."""
        return [self.uniforms[name].bound(value) for name, value in values.items() if name in self.uniforms]


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


class ProgramStore:
    """One context's programs, and per program and exact layouts its compiled program with its shape
    uniforms resolved."""

    def __init__(self, gl: GL, driver: program_cache.Driver, storage: OutputStorage, stats: Stats):
        self.gl = gl
        self.driver = driver    # whose program binaries fit this context
        self.storage = storage  # what programs write (half_float.py)
        self.stats = stats
        # WEBGL_USE_SHAPES_UNIFORMS: shapes and sizes as uniforms, one program per layout structure, for
        # the families that opt in (Program.shape_uniforms: free in steady state); TFGL_SHAPE_UNIFORMS=1
        # or 0 forces it on or off for every program, to compare.
        setting = os.environ.get("TFGL_SHAPE_UNIFORMS", "")
        self.shape_uniforms: bool | None = None if setting == "" else setting != "0"
        self.compiled: dict[tuple, CompiledProgram] = {}  # by what the GLSL is made of
        # Per program and exact layouts: its compiled program and its shape uniforms, resolved. The
        # oldest go past a bound: shape-generic programs meet ever new layouts as shapes change.
        self._bindings: dict[tuple, tuple[CompiledProgram, list]] = {}
        self.kept = linked_programs_kept()
        self.evict_due = False  # a program was linked past the limit (the backend then calls evict)
        self._ticks = itertools.count(1)

    def bind(self, program: Program, inputs: tuple[Layout, ...], output: Layout) -> tuple[CompiledProgram, list]:
        """The linked program for these layouts and its shape uniforms, bound as draws set them
        ((setter, location, count, values)). The key holds everything the source is made from (as
        TF.js's makeShaderKey), so a hit never regenerates the GLSL; with shape uniforms, layouts of one
        structure share a program."""
        key = (program.key(), inputs, output)
        binding = self._bindings.get(key)
        if binding is not None:
            self.stats.cache_hits += 1
            binding[0].last_bound = next(self._ticks)
            return binding
        check_ranks(program, list(inputs), output)
        generic = self._generic_form(program, inputs, output)
        if generic is not None:
            program, input_structures, output_structure = generic
            program_key = (program.key(shape_uniforms=True), input_structures, output_structure)
        else:
            program_key = key
        compiled = self.compiled.get(program_key)
        if compiled is None:
            source = generic_fragment_source(program, input_structures, output_structure, self.storage) if generic \
                else fragment_source(program, list(inputs), output, self.storage)
            compiled = self._link(program, source)
            self.compiled[program_key] = compiled
            self.evict_due = len(self.compiled) > self.kept
        else:
            self.stats.cache_hits += 1
        values = {**shape_uniforms.values(program.inputs, inputs, output), **(program.sizes or {})} \
            if generic else {}
        compiled.last_bound = next(self._ticks)
        binding = compiled, compiled.bound(values)
        self._bindings[key] = binding
        if len(self._bindings) > self.kept * BINDINGS_PER_PROGRAM:
            del self._bindings[next(iter(self._bindings))]
        return binding

    def forget(self) -> None:
        """Drops every program, as the context that held them is destroyed (no GL call)."""
        self.compiled, self._bindings = {}, {}

    def evict(self, drawn: Collection[CompiledProgram]) -> list[CompiledProgram]:
        """Of the programs no live plan or recording draws (`drawn`), deletes those bound longest ago
        past the limit, and forgets their bindings; returns them (the caller forgets what it keeps
        by their GL names: NVIDIA's driver gives a deleted program's name to the next one). Run in a
        GL section, never while a dry run holds programs for deferred draws."""
        self.evict_due = False
        spare = sorted((c for c in self.compiled.values() if c not in drawn), key=lambda c: c.last_bound)
        gone = spare[:max(0, len(spare) - self.kept)]
        if not gone:
            return []
        doomed = set(gone)
        self.compiled = {key: c for key, c in self.compiled.items() if c not in doomed}
        self._bindings = {key: b for key, b in self._bindings.items() if b[0] not in doomed}
        for compiled in gone:
            self.gl.DeleteProgram(compiled.program)
        self.stats.programs_evicted += len(gone)
        return gone

    def _generic_form(self, program: Program, inputs: tuple[Layout, ...], output: Layout) -> tuple | None:
        """(the program as compiled shape-generic, its input structures, output structure), or None
        for a program per shape: a family that does not opt in (unless TFGL_SHAPE_UNIFORMS=1), sizes
        past divInt's exact range, or, by default, reads that would divide (unless the family reads
        everything by flat index on purpose, layout_blind, or its draws the divisions do not slow,
        may_divide)."""
        forced = self.shape_uniforms
        if not (program.shape_uniforms if forced is None else forced) or not shape_uniforms.exact((*inputs, output)):
            return None
        if forced is None:
            program = program.with_constant_sizes()
        input_structures, output_structure = structures(program, list(inputs), output)
        if forced is None and not (program.layout_blind or program.may_divide) \
                and any(s.divides for s in input_structures):
            return None
        return program, input_structures, output_structure

    def _link(self, program: Program, source: str) -> CompiledProgram:
        """The program loaded from its binary on disk if there is a good one, else compiled from
        `source` (and its binary stored for the next process)."""
        gl, cache = self.gl, shader_cache.program_cache()
        if not gl.binary_formats:
            cache = None
        gl_program = None
        if cache is not None:
            entry_key = program_cache.key(self.driver, VERTEX_SHADER, source)
            found = cache.read(entry_key, self.driver)
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
                cache.write(entry_key, self.driver, *binary)
        uniforms = gl.uniforms(gl_program)
        gl.set_samplers(gl_program, uniforms, program.inputs)
        return CompiledProgram(gl_program, uniforms, source, from_binary=loaded)
