"""A GL program as data: the GLSL it is built from, the tensors it samples, compile-time defines
and per-draw uniforms. Building the GLSL (compiler.py) and running it (backend.py) live elsewhere."""
from __future__ import annotations

from dataclasses import dataclass, replace
from collections.abc import Mapping


class CPUFallback(Exception):
    """A GL kernel (or the codegen) cannot handle these inputs on the GPU; the op runs on the CPU."""


@dataclass(frozen=True)
class Program:
    name: str                                  # shown in stats and errors
    shaders: tuple[str, ...]                   # files under shaders/, concatenated in order
    inputs: tuple[str, ...] = ("A",)           # sampler names; tensors are passed in this order
    defines: Mapping[str, object] = None       # '#define NAME value' lines; part of the cache key
    uniforms: Mapping[str, object] = None      # values set before each draw; not in the key
    sizes: Mapping[str, int] = None            # int sizes: defines, or uniforms with shape uniforms on
    loop_iterations: int = 0                   # iterations one fragment runs, all loops together
    packed_inputs: bool = False                # samplers read packed textures (getX returns a vec4)
    packed_output: bool = False                # writes a packed texture (setOutput takes a vec4)
    # Shape-generic by default (TFGL_SHAPE_UNIFORMS unset): this family's GLSL costs little or nothing in
    # steady state with its sizes and the headers' shapes as uniforms (which do: shape_uniforms.py).
    shape_uniforms: bool = False
    # Sizes that stay defines in that default all the same, as a uniform would cost steady time (a short
    # loop's trip count, which a define unrolls whole); TFGL_SHAPE_UNIFORMS=1 makes them uniforms too.
    constant_sizes: tuple[str, ...] = ()
    # With shape uniforms, setOutput masks a half-filled last texel row and col whatever the output's
    # sizes, so that odd and even sizes share the program (~1% of a packed product's or depthwise's time).
    any_parity: bool = False
    # Shape-generic source that ignores how unpacked textures lay values out (rows along y, one row,
    # unit dims, padding): every read and the output coordinates divide, for one program per rank in
    # families whose draws are too cheap for that to matter.
    layout_blind: bool = False
    # Shape-generic even where an unpacked input's read divides by a uniform (Structure.divides): a
    # family whose draws the divisions do not slow (packing and reductions wait on their texel fetches:
    # 0.42 ms either way to pack 2x96x96x3 in a 235x236 texture on llvmpipe, 0.35 to average 13x1280
    # rows of 9 in a 13x11520 one), where a program per shape would have each new batch size compile one.
    may_divide: bool = False

    def with_constant_sizes(self) -> Program:
        """This program with its `constant_sizes` moved from sizes to defines."""
        if not self.constant_sizes:
            return self
        sizes = dict(self.sizes or {})
        constants = {k: sizes.pop(k) for k in self.constant_sizes}
        return replace(self, sizes=sizes, defines={**(self.defines or {}), **constants}, constant_sizes=())

    def key(self, shape_uniforms: bool = False) -> tuple:
        """Everything but the uniforms: what the program's GLSL depends on (the sizes' names only
        when they are uniforms)."""
        sizes = tuple(sorted(self.sizes or ())) if shape_uniforms else tuple(sorted((self.sizes or {}).items()))
        return (self.name, self.shaders, self.inputs, tuple(sorted((self.defines or {}).items())), sizes,
                self.packed_inputs, self.packed_output)

    def define_lines(self, shape_uniforms: bool = False) -> str:
        sizes = "".join(f"uniform int {k};\n" for k in self.sizes or ()) if shape_uniforms else \
            "".join(f"#define {k} {int(v)}\n" for k, v in (self.sizes or {}).items())
        return sizes + "".join(f"#define {k} {_glsl(v)}\n" for k, v in (self.defines or {}).items())


def _glsl(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else \
            ("NAN" if value != value else ("INFINITY" if value > 0 else "(-INFINITY)"))
    return str(value)
