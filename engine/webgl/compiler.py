"""Fragment-shader codegen: the header every program gets (output coordinates, samplers with
broadcasting, NaN/Inf helpers) around the program's own GLSL.

Tensors are stored row-major, one value per texel, in a texture of (rows, cols) texels; a value's
flat index i lives at texel (x = i % cols, y = i / cols). Shapes are compile-time constants, so
each distinct shape compiles its own program (as TF.js does) and index math folds to constants;
for shape-generic programs generic_fragment_source makes one program per layout structure instead
(shape_uniforms.py). Packed layouts (2x2 values per RGBA texel) get their headers from packed_codegen.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import shaders
from engine.webgl import packed_codegen, shape_uniforms
from engine.webgl.glsl import construct_coords, coords_type
from engine.webgl.half_float import FLOAT32, OutputStorage
from engine.webgl.program import CPUFallback, Program
from engine.webgl.shape_uniforms import Structure, input_structure, output_structure
from engine.webgl.textures import packed_texels

# A triangle over the whole viewport from gl_VertexID alone: gl.py draws it with no vertex buffer.
VERTEX_SHADER = """#version 330
void main() { gl_Position = vec4(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID >> 1) * 4 - 1), 0.0, 1.0); }
"""

MAX_RANK = 6
_COMPONENTS = "xyzwuv"

COMMON = """#version 330
out vec4 tfgl_output;

// NaN and Inf tests on the bits: drivers may fold isnan() away under fast math.
bool isnan_custom(float v) { return (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u; }
bool isinf_custom(float v) { return (floatBitsToUint(v) & 0x7fffffffu) == 0x7f800000u; }
#define NAN uintBitsToFloat(0x7fc00000u)
#define INFINITY uintBitsToFloat(0x7f800000u)
struct ivec5 { int x; int y; int z; int w; int u; };
struct ivec6 { int x; int y; int z; int w; int u; int v; };
"""


@dataclass(frozen=True)
class Layout:
    """A tensor's logical shape and the texture holding it."""

    shape: tuple[int, ...]
    rows: int
    cols: int
    packed: bool = False


def strides(shape: tuple[int, ...]) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return out[::-1]


def output_header(layout: Layout, storage: OutputStorage = FLOAT32) -> str:
    rank, shape = len(layout.shape), layout.shape
    lines = [f"#define OUT_SIZE {max(1, _size(shape))}",
             f"#define OUT_ROWS {layout.rows}", f"#define OUT_COLS {layout.cols}", f"#define OUT_RANK {rank}",
             "int getOutputFlatIndex() { ivec2 rc = ivec2(gl_FragCoord.xy); return rc.y * OUT_COLS + rc.x; }",
             f"void setOutput(float value) {{ tfgl_output = vec4({storage.stored('value')}, 0.0, 0.0, 0.0); }}",
             # Kernels divide sizes with divInt: by a constant here (folded), by a uniform when shape-generic.
             "int divInt(int a, int b) { return a / b; }"]
    for i, d in enumerate(shape):
        lines.append(f"#define OUT_SHAPE_{i} {d}")
    body = ["int index = getOutputFlatIndex();"]
    names = [f"c{i}" for i in range(rank)]
    for i, stride in enumerate(strides(shape)):
        if i == rank - 1:
            body.append(f"int {names[i]} = index;")
        else:
            body.append(f"int {names[i]} = index / {stride}; index -= {names[i]} * {stride};")
    body.append(f"return {construct_coords(rank, names)};")
    lines.append(f"{coords_type(rank)} getOutputCoords() {{ {' '.join(body)} }}")
    return "\n".join(lines) + "\n"


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def sampler_header(name: str, layout: Layout, out_shape: tuple[int, ...], at_out_coords: bool = True) -> str:
    shape, rank = layout.shape, len(layout.shape)
    fetch = f"texelFetch({name}, ivec2(index, 0), 0).r" if layout.rows == 1 else \
        f"texelFetch({name}, ivec2(index - (index / {layout.cols}) * {layout.cols}, index / {layout.cols}), 0).r"
    lines = [f"uniform sampler2D {name};",
             f"#define {name}_RANK {rank}",
             f"float get{name}Flat(int index) {{ return {fetch}; }}"]
    for i, d in enumerate(shape):
        lines.append(f"#define {name}_SHAPE_{i} {d}")
    params = ", ".join(f"int d{i}" for i in range(rank))
    terms = [f"d{i}" if s == 1 else f"d{i} * {s}" for i, (d, s) in enumerate(zip(shape, strides(shape))) if d != 1]
    lines.append(f"float get{name}({params}) {{ return get{name}Flat({' + '.join(terms) or '0'}); }}")
    if at_out_coords:  # a packed output has no flat index to read at
        lines.append(f"float get{name}AtOutCoords() {{ {_at_out_coords(name, shape, out_shape)} }}")
    return "\n".join(lines) + "\n"


def _at_out_coords(name: str, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> str:
    """Broadcasting read: A's dims align with the output's trailing dims; unit dims read index 0."""
    if tuple(shape) == tuple(out_shape):
        return f"return get{name}Flat(getOutputFlatIndex());"
    if _size(shape) == 1:
        return f"return get{name}Flat(0);"
    out_rank, rank = len(out_shape), len(shape)
    offset = out_rank - rank
    component = (lambda j: "coords") if out_rank <= 1 else (lambda j: f"coords.{_COMPONENTS[j]}")
    args = ["0" if d == 1 else component(i + offset) for i, d in enumerate(shape)]
    return f"{coords_type(out_rank)} coords = getOutputCoords(); return get{name}({', '.join(args)});"


def check_ranks(program: Program, inputs: list[Layout], output: Layout) -> None:
    if len(output.shape) > MAX_RANK or any(len(i.shape) > MAX_RANK for i in inputs):
        raise CPUFallback(f"{program.name}: tensors of rank above {MAX_RANK} stay on the CPU")
    if any(len(i.shape) > 4 for i in inputs if i.packed) or (output.packed and len(output.shape) > 4):
        raise CPUFallback(f"{program.name}: packed tensors of rank above 4")


def structures(program: Program, inputs: list[Layout], output: Layout) -> tuple[tuple[Structure, ...], Structure]:
    """The layouts' structures: all a shape-generic program's source depends on, which is only what the
    header functions `program` calls depend on: how an input's shape relates to the output's matters
    only where it is read at the output's coordinates, its texture only where read by coordinates or
    flat index, the output's coordinates only where read, and its parity not to a program that masks
    any parity (Program.any_parity)."""
    calls = header_calls(program.shaders, program.inputs, tuple(str(v) for v in (program.defines or {}).values()))
    blind = program.layout_blind
    ins = tuple(input_structure(i.shape, i.rows, i.cols, i.packed, output.shape, output.rows, output.cols,
                                output.packed, *calls[name], blind=blind) for name, i in zip(program.inputs, inputs))
    coords = calls["OUT"] or any(s.reads in (shape_uniforms.BROADCAST, shape_uniforms.VECTOR) for s in ins)
    out = output_structure(output.shape, output.rows, output.cols, output.packed, coords, blind)
    if program.any_parity and out.packed:
        out = out._replace(odd_rows=out.rank >= 2, odd_cols=out.rank >= 1)
    return ins, out


_GETTER_CALL = re.compile(r"\bget(\w+)\s*\(")  # a header function called: what follows its "get"


@cache
def header_calls(paths: tuple[str, ...], names: tuple[str, ...], defines: tuple[str, ...]) -> dict:
    """Which header functions GLSL files `paths` and define values call: per sampler name, whether
    getXAtOutCoords, getX and getXFlat ("OUT": whether getOutputCoords). Text anywhere counts, even
    in a branch the defines leave out."""
    text = "\n".join([*(shaders.source(path) for path in paths), *defines])
    called = set(_GETTER_CALL.findall(text))
    calls = {name: tuple(name + suffix in called for suffix in ("AtOutCoords", "", "Flat")) for name in names}
    calls["OUT"] = "OutputCoords" in called
    return calls


def generic_fragment_source(program: Program, inputs: tuple[Structure, ...], output: Structure,
                            storage: OutputStorage = FLOAT32) -> str:
    """The fragment shader of `program` for every layout of these structures: sizes are uniforms
    (shape_uniforms.values gives them)."""
    parts = [COMMON + storage.header, shape_uniforms.output_header(output, storage)]
    parts += [shape_uniforms.sampler_header(name, s, output) for name, s in zip(program.inputs, inputs)]
    parts.append(program.define_lines(shape_uniforms=True))
    parts += [shaders.source(path) for path in program.shaders]
    guard = ("if (getOutputTexelIndex() >= OUT_TEXELS)" if output.packed else "if (getOutputFlatIndex() >= OUT_SIZE)") \
        + " { tfgl_output = vec4(0.0); return; }\n  " if output.padded else ""
    parts.append(f"void main() {{\n  {guard}tfgl_outputCoords = computeOutputCoords();\n  run();\n}}\n")
    return "\n".join(parts)


def fragment_source(program: Program, inputs: list[Layout], output: Layout, storage: OutputStorage = FLOAT32) -> str:
    """The complete fragment shader of `program` for these input and output layouts, storing into `storage`."""
    check_ranks(program, inputs, output)
    parts = [COMMON + storage.header,
             packed_codegen.output_header(output.shape, output.rows, output.cols, storage) if output.packed
             else output_header(output, storage)]
    for name, layout in zip(program.inputs, inputs):
        parts.append(packed_codegen.sampler_header(name, layout.shape, layout.cols, layout.rows, output.shape,
                                                   output.packed)
                     if layout.packed else sampler_header(name, layout, output.shape, not output.packed))
    parts.append(program.define_lines())
    parts += [shaders.source(path) for path in program.shaders]
    if output.packed:
        batch, tr, tc = packed_texels(output.shape)
        padded = output.rows * output.cols != max(1, batch * tr * tc)
        guard = "if (getOutputTexelIndex() >= OUT_TEXELS) { tfgl_output = vec4(0.0); return; }\n  "
    else:
        padded = output.rows * output.cols != max(1, _size(output.shape))
        guard = "if (getOutputFlatIndex() >= OUT_SIZE) { tfgl_output = vec4(0.0); return; }\n  "
    guard = guard if padded else ""
    parts.append(f"void main() {{\n  {guard}run();\n}}\n")
    return "\n".join(parts)
