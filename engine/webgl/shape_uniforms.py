"""Shape-generic headers (TF.js's WEBGL_USE_SHAPES_UNIFORMS): shapes, strides and texture shapes
reach the shader as uniforms, so one compiled program serves every shape of the same structure.

A program's GLSL then depends only on each layout's `Structure` (rank, packing, how its texels are
addressed, which dims are 1, how it is read at the output's coordinates), which is all the headers
here look at; `values` gives the uniforms of actual layouts, set before each draw. The macro names
are those of the constant headers (OUT_SHAPE_1, A_TC, ...), defined from the uniforms, so kernels'
GLSL reads the same either way. Unit dims are dropped from the index math, as the constant headers'
folding does (a broadcast read ignores the coordinate there). A structure keeps only what the header
functions the program calls depend on (compiler.header_calls): an input's relation to the output's
shape only where it is read at the output's coordinates, an unpacked input's texture only where it
is read by coordinates or flat index, the output's coordinates only where they are read (none of
the textures with `Program.layout_blind`, which reads everything by flat index), and the output's
parity not where the program masks any (`Program.any_parity`).

Which programs are generic (programs.py): by default the families that opt in with
`Program.shape_uniforms` because it costs little or nothing in steady state on llvmpipe (per-draw
A/B against programs per shape, GPU time of each family's draws in MoveNet, handtrack, selfie and
MobileNetV2): packed matmul, packed depthwise, packed elementwise, pack/unpack; unpacked elementwise
ops without a broadcast (drawn on one-dim views: 5-20% faster, as they read their output's own
texel), transpose, ResizeBilinear/NearestNeighbor, softmax, reduce, concat, gather and strided
slices (within ~3%, or faster); gather_nd and arg_reduce read layout-blind (+15-35%: 0.05 ms a
MoveNet call). All their sizes are uniforms but `Program.constant_sizes` (a product's shared dim of
up to 16 values, whose loop a define unrolls whole; a reduction's window; packed im2col's window and
image sizes, so that batch sizes share it at no cost per draw, where all uniforms cost +276%); and a
program whose unpacked reads would divide by a uniform (`Structure.divides`: a flat read into a
texture of several rows, +25% for a concat of such inputs) is made per shape, but packing and
reductions (`Program.may_divide`: no slower per draw, and a new batch size would compile its own
again). Per shape by default: pools (2-4x per draw), pads and the other index maps (~+18%),
elementwise broadcasts (~+15%, and models rarely share them), convolutions and matmuls that are not
packed. TFGL_SHAPE_UNIFORMS=1 makes every program generic with all its sizes uniforms (fewest
programs), =0 none (a program per shape). Tensors of 2**24 values or texels or more get programs per
shape (divInt is exact below).

What made generic programs slow, and how these headers and kernels avoid it:
- llvmpipe does not reuse math on uniforms across the branches and unrolled steps of a kernel, so
  per-tap texel addresses (batch * TR + i) cost up to 20%: kernels with inner loops take a matrix's
  first texel row out of them (getXMatrixRow, getXBatch, getXTexelAt);
- a loop whose trip count is a uniform does not unroll, and its fixed cost is large next to a short
  loop: kernels unroll such loops by hand (four steps per iteration), and short ones keep a constant
  trip count by default;
- bounds compared at every tap against uniforms cost ~3%, nothing measurable as one unsigned compare
  against a local copy, from a window origin computed once (packed depthwise);
- output coordinates come from gl_FragCoord when the texture is the natural stack of rows or
  matrices (one division at most, computed once in main()), and main() guards only padded textures;
- a division by a uniform runs as float division with an exact correction (divInt): llvmpipe
  scalarizes integer division.
Each uniform set costs the host ~0.7 us (moderngl); draws and replays set only those that changed
(WebGLBackend.uniform_values).
"""
from __future__ import annotations

from math import prod
from typing import NamedTuple

from engine.webgl.glsl import construct_coords, coords_type
from engine.webgl.half_float import FLOAT32, OutputStorage
from engine.webgl.textures import packed_texels

_COMPONENTS = "xyzw"
# How getXAtOutCoords reads an input: the output's own texel, the same flat index or texel index (same
# shape, other texture), one value, a packed vector along the last dim, a broadcast of the output's coords.
SAME_TEXEL, SAME_INDEX, SCALAR, VECTOR, BROADCAST = "texel", "index", "scalar", "vector", "broadcast"


class Structure(NamedTuple):
    """What a layout's header code depends on; two layouts with equal structures share source."""
    rank: int
    packed: bool
    one_row: bool = False    # an input's rows == 1: the texel index is the x coordinate
    # cols == TC (packed): matrix texel (b, i, j) sits at (j, b * TR + i); cols == the last dim
    # (unpacked): value (..., j) at (j, flat index of the others). An output's texture is also exact.
    natural: bool = False
    reads: str = ""          # an input's read at the output's coordinates (see above); "": never read there
    odd_rows: bool = False   # a packed output's last texel row / col is half outside the shape
    odd_cols: bool = False
    # Which dims are 1 (a packed layout's leading dims only): their coordinate is 0, and no division
    # or multiply by a uniform is spent on them, as the constant headers fold them away.
    units: tuple[bool, ...] = ()
    padded: bool = False     # an output's texture has texels past its values (main() guards them)
    # An unpacked input read by flat index in a texture of several rows: every read divides by a
    # uniform (~10-60% more per draw on llvmpipe), so by default its program is made per shape
    # (not counted for a layout_blind program, which reads so on purpose).
    divides: bool = False


def _units(shape, packed: bool) -> tuple[bool, ...]:
    """Unit dims are folded only where others vary: a one-value layout is read and written at
    coordinates 0 (never broadcast), and sharing its program with larger ones costs nothing."""
    dims = shape[:-2] if packed else shape
    return tuple(d == 1 and prod(shape) > 1 for d in dims)


def output_structure(shape, rows: int, cols: int, packed: bool, coords: bool = True, blind: bool = False) -> Structure:
    """`natural`: the texture is exactly (values or matrices' texel rows) x (last dim or its texels),
    so gl_FragCoord gives the last coordinate and the row without a division. `coords`: whether the
    program reads its output coordinates (getOutputCoords): an unpacked one that does not only needs
    its flat index. `blind` (Program.layout_blind): an unpacked one's texture is not looked at."""
    shape, rank = tuple(shape), len(shape)
    if not packed:
        size = prod(shape)
        if blind:
            return Structure(rank, False, units=(False,) * rank, padded=True)
        natural = rank >= 2 and cols == shape[-1] and rows * cols == size
        units = _units(shape, False)
        # Unit dims fold away the divisions of the coordinates before the last one decomposed (all
        # but the last, or of those along y in a natural texture): nothing to fold with only one.
        decomposed = rank - 1 if natural else rank
        units = tuple(u and i < decomposed and decomposed > 1 and coords for i, u in enumerate(units))
        natural = natural and coords
        return Structure(rank, False, False, natural, units=units, padded=rows * cols != size)
    batch, tr, tc = packed_texels(shape)
    texels = max(1, batch * tr * tc)
    return Structure(rank, True, False, rank >= 2 and (rows, cols) == (batch * tr, tc),
                     odd_rows=rank >= 2 and shape[-2] % 2 == 1, odd_cols=rank >= 1 and shape[-1] % 2 == 1,
                     units=_units(shape, True), padded=rows * cols != texels)


TINY_VALUES = 4096


def input_structure(shape, rows: int, cols: int, packed: bool, out_shape, out_rows: int, out_cols: int,
                    out_packed: bool, at_out: bool = True, coords: bool = True, flat: bool = True,
                    blind: bool = False) -> Structure:
    """`at_out`, `coords` and `flat`: whether the program reads this input with getXAtOutCoords, getX
    and getXFlat; an unpacked input's structure holds only what the code it reads depends on, and
    nothing of its texture if `blind` (Program.layout_blind)."""
    shape, out_shape = tuple(shape), tuple(out_shape)
    # Matrix texel rows stacked (packed), or one row per all but the last dim (unpacked): a coordinate's
    # texel is then at (last coordinate, row) with no division.
    natural = cols == packed_texels(shape)[2] if packed else len(shape) >= 2 and cols == shape[-1]
    reads = _reads(shape, rows, cols, packed, out_shape, out_rows, out_cols, out_packed) if at_out else ""
    units, one_row = _units(shape, packed), rows == 1
    if not packed:
        coords = coords or reads == BROADCAST
        # A few values read at any cost per read still cost nothing measurable per draw: their layouts
        # all take the general addressing, so the small tails of models (a detector's boxes and scores in
        # 1-row, 1-column and square textures) share programs.
        tiny = prod(shape) <= TINY_VALUES
        natural = natural and coords and not blind and not tiny
        one_row = one_row and not tiny
        # Only a broadcast read needs its unit dims folded; at coordinates inside the shape a unit dim's
        # is 0, and folding it would save one multiply by its (zero) stride for a program of its own.
        if reads != BROADCAST:
            units = (False,) * len(shape)
        addressed = flat or reads in (SAME_INDEX, SCALAR) or (coords and not natural)
        return Structure(len(shape), False, one_row and addressed and not blind, natural, reads, units=units,
                         divides=addressed and not one_row and reads != SCALAR and not blind and not tiny)
    return Structure(len(shape), packed, one_row, natural, reads, units=units)


def _reads(shape, rows: int, cols: int, packed: bool, out_shape, out_rows: int, out_cols: int,
           out_packed: bool) -> str:
    if shape == out_shape and (rows, cols) == (out_rows, out_cols) and packed == out_packed:
        return SAME_TEXEL
    if shape == out_shape:
        return SAME_INDEX
    if prod(shape) == 1:
        return SCALAR
    if packed and out_shape and prod(shape) == out_shape[-1] and shape[-1] == out_shape[-1]:
        return VECTOR
    return BROADCAST


# -- uniform values -----------------------------------------------------------------------------------
EXACT_LIMIT = 1 << 24

def exact(layouts) -> bool:
    """Whether divInt is exact for every index of these layouts (compiler.Layout): larger tensors get
    programs per shape."""
    return all(max(layout.rows * layout.cols, prod(layout.shape)) < EXACT_LIMIT for layout in layouts)


def _row_major_strides(shape) -> list[int]:
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc if d != 1 else 0)
        acc *= d
    return out[::-1]


def values(names, inputs, output) -> dict[str, object]:
    """The header uniforms of these layouts (compiler.Layout) for inputs `names`."""
    out = {}
    shape = tuple(output.shape)
    if output.packed:
        batch, tr, tc = packed_texels(shape)
        out["uOUT_tex"] = (output.rows, output.cols, tr, tc)
        out["uOUT_texels"] = max(1, batch * tr * tc)
        lead = shape[:-2]
        if lead:
            out["uOUT_strides"] = [prod(lead[i + 1:]) for i in range(len(lead))]
    else:
        out["uOUT_tex"] = (output.rows, output.cols, max(1, prod(shape)))
        if shape:
            out["uOUT_strides"] = [prod(shape[i + 1:]) for i in range(len(shape))]
            out["uOUT_lead"] = [prod(shape[i + 1:-1]) for i in range(len(shape) - 1)]
    if shape:
        out["uOUT_shape"] = list(shape)
    for name, layout in zip(names, inputs):
        shape = tuple(layout.shape)
        if shape:
            out[f"u{name}_shape"] = list(shape)
        if layout.packed:
            _, tr, tc = packed_texels(shape)
            out[f"u{name}_tex"] = (layout.rows, layout.cols, tr, tc)
            if len(shape) > 2:
                out[f"u{name}_strides"] = _row_major_strides(shape[:-2])
        else:
            out[f"u{name}_cols"] = layout.cols
            if shape:
                out[f"u{name}_strides"] = _row_major_strides(shape)
                out[f"u{name}_lead"] = _row_major_strides(shape[:-1])
    return out


# -- headers ------------------------------------------------------------------------------------------
def _shape_lines(name: str, rank: int) -> list[str]:
    if not rank:
        return []
    return [f"uniform int u{name}_shape[{rank}];"] + [f"#define {name}_SHAPE_{i} u{name}_shape[{i}]"
                                                      for i in range(rank)]


# llvmpipe scalarizes integer division (one lane at a time) but not float division: a float quotient,
# corrected by one step, is exact for 0 <= a < 2**24 (texel indices and coordinates: see `exact`).
DIV_INT = """int divInt(int a, int b) {
  int q = int(float(a) / float(b)), r = a - q * b;
  return q - int(r < 0) + int(r >= b);
}"""


def _decompose(var: str, dims: list[int], units: tuple[bool, ...], strides: str, lines: list[str]) -> list[str]:
    """Coordinates of `dims` from flat index `var` (row-major, strides in uniform array `strides`):
    unit dims are 0, the last other one is what remains, so only the others divide."""
    live = [i for i in dims if not units[i]]
    for i in live[:-1]:
        lines.append(f"int d{i} = divInt({var}, {strides}[{i}]); {var} -= d{i} * {strides}[{i}];")
    if live:
        lines.append(f"int d{live[-1]} = {var};")
    return [f"d{i}" if not units[i] else "0" for i in dims]


def _coords_lines(type_: str, body: list[str]) -> list[str]:
    # Computed once in main() (tfgl_outputCoords): llvmpipe does not reuse uniform math across calls.
    return [f"{type_} tfgl_outputCoords;", f"{type_} getOutputCoords() {{ return tfgl_outputCoords; }}",
            f"{type_} computeOutputCoords() {{ {' '.join(body)} }}"]


def output_header(s: Structure, storage: OutputStorage = FLOAT32) -> str:
    rank = s.rank
    lines = [DIV_INT] + _shape_lines("OUT", rank) + [f"#define OUT_RANK {rank}"]
    if not s.packed:
        lines += ["uniform ivec3 uOUT_tex;  // rows, cols, size",
                  "#define OUT_ROWS uOUT_tex.x", "#define OUT_COLS uOUT_tex.y", "#define OUT_SIZE uOUT_tex.z",
                  "int getOutputFlatIndex() { ivec2 rc = ivec2(gl_FragCoord.xy); return rc.y * OUT_COLS + rc.x; }",
                  f"void setOutput(float value) {{ tfgl_output = vec4({storage.stored('value')}, 0.0, 0.0, 0.0); }}"]
        if s.natural:  # the last dim along x, the flat index of the others along y
            lines.append(f"uniform int uOUT_lead[{rank - 1}];  // strides of the dims but the last")
            body = ["ivec2 rc = ivec2(gl_FragCoord.xy); int index = rc.y;"]
            parts = _decompose("index", list(range(rank - 1)), s.units, "uOUT_lead", body) + ["rc.x"]
        else:
            if rank > 1:
                lines.append(f"uniform int uOUT_strides[{rank}];")
            body = ["int index = getOutputFlatIndex();"]
            parts = _decompose("index", list(range(rank)), s.units, "uOUT_strides", body)
        body.append(f"return {construct_coords(rank, parts)};")
        lines += _coords_lines(coords_type(rank), body)
        return "\n".join(lines) + "\n"
    lines += ["uniform ivec4 uOUT_tex;  // rows, cols, texel rows and cols per matrix", "uniform int uOUT_texels;",
              "#define OUT_ROWS uOUT_tex.x", "#define OUT_COLS uOUT_tex.y", "#define OUT_TR uOUT_tex.z",
              "#define OUT_TC uOUT_tex.w", "#define OUT_TEXELS uOUT_texels",
              "int getOutputTexelIndex() { ivec2 rc = ivec2(gl_FragCoord.xy); return rc.y * OUT_COLS + rc.x; }"]
    batched = rank > 2 and not all(s.units)
    if s.natural:  # texel (x, y) is col x of texel row y
        body = ["ivec2 rc = ivec2(gl_FragCoord.xy); int c = rc.x * 2, tr = rc.y;"]
    else:
        body = ["int t = getOutputTexelIndex();", "int tr = divInt(t, OUT_TC);", "int c = (t - tr * OUT_TC) * 2;"]
    body.append("int b = divInt(tr, OUT_TR); int r = (tr - b * OUT_TR) * 2;" if batched else "int r = tr * 2;")
    if rank > 2:
        lines.append(f"uniform int uOUT_strides[{rank - 2}];")
    lead = _decompose("b", list(range(rank - 2)), s.units, "uOUT_strides", body)
    parts = lead + ["r", "c"] if rank >= 2 else ["c"]
    body.append(f"return {construct_coords(rank, parts)};")
    lines += _coords_lines(coords_type(rank), body)
    masks = []
    coords = "getOutputCoords()" if rank > 1 else "ivec2(0, getOutputCoords())"
    if s.odd_cols:
        masks.append(f"if (rc.y + 1 >= OUT_SHAPE_{rank - 1}) v.yw = vec2(0.0);")
    if s.odd_rows:
        masks.append(f"if (rc.x + 1 >= OUT_SHAPE_{rank - 2}) v.zw = vec2(0.0);")
    mask = " ".join([f"ivec2 rc = {coords}.{'xy' if rank <= 2 else 'yz' if rank == 3 else 'zw'};"] + masks) \
        if masks else ""
    # Components past the shape stay zero: products over a padded shared dim then add nothing.
    lines.append(f"void setOutput(vec4 v) {{ {mask} tfgl_output = {storage.stored('v')}; }}")
    return "\n".join(lines) + "\n"


def sampler_header(name: str, s: Structure, out: Structure) -> str:
    return _packed_sampler(name, s, out) if s.packed else _sampler(name, s, out)


def _sampler(name: str, s: Structure, out: Structure) -> str:
    rank = s.rank
    fetch = f"return texelFetch({name}, ivec2(index, 0), 0).r;" if s.one_row else \
        f"int y = divInt(index, u{name}_cols); return texelFetch({name}, ivec2(index - y * u{name}_cols, y), 0).r;"
    lines = [f"uniform sampler2D {name};", f"uniform int u{name}_cols;", f"#define {name}_RANK {rank}",
             f"float get{name}Flat(int index) {{ {fetch} }}"]
    lines += _shape_lines(name, rank)
    if rank:
        lines.append(f"uniform int u{name}_strides[{rank}];")
    params = ", ".join(f"int d{i}" for i in range(rank))
    if s.natural:
        lines.append(f"uniform int u{name}_lead[{rank - 1}];  // strides of the dims but the last")
        row = _flat(name, s.units[:-1], rank - 1, "lead")
        col = "0" if s.units[-1] else f"d{rank - 1}"  # a broadcast reads a unit dim's coordinate as 0
        lines.append(f"float get{name}({params}) {{ return texelFetch({name}, ivec2({col}, {row}), 0).r; }}")
    else:
        lines.append(f"float get{name}({params}) {{ return get{name}Flat({_flat(name, s.units, rank)}); }}")
    if not out.packed and s.reads:
        lines.append(f"float get{name}AtOutCoords() {{ {_at_out_coords(name, s, out)} }}")
    return "\n".join(lines) + "\n"


def _flat(name: str, units: tuple[bool, ...], count: int, strides: str = "strides") -> str:
    """The flat index of coordinates d0.. of the first `count` dims (strides u{name}_{strides}): unit
    dims dropped, and the last dim's stride is 1 (the row-major strides' last is)."""
    last = len(units) - 1
    terms = [f"d{i}" if i == last else f"d{i} * u{name}_{strides}[{i}]" for i in range(count) if not units[i]]
    return " + ".join(terms) or "0"


def _at_out_coords(name: str, s: Structure, out: Structure) -> str:
    if s.reads == SAME_TEXEL:
        return f"return texelFetch({name}, ivec2(gl_FragCoord.xy), 0).r;"
    if s.reads == SAME_INDEX:
        return f"return get{name}Flat(getOutputFlatIndex());"
    if s.reads == SCALAR:
        return f"return get{name}Flat(0);"
    offset = out.rank - s.rank
    component = (lambda j: "coords") if out.rank <= 1 else (lambda j: f"coords.{'xyzwuv'[j]}")
    args = [component(i + offset) for i in range(s.rank)]
    return f"{coords_type(out.rank)} coords = getOutputCoords(); return get{name}({', '.join(args)});"


def _packed_sampler(name: str, s: Structure, out: Structure) -> str:
    rank = s.rank
    where = "ivec2(t, 0)" if s.one_row else f"ivec2(t - divInt(t, {name}_COLS) * {name}_COLS, divInt(t, {name}_COLS))"
    lines = [f"uniform sampler2D {name};", f"uniform ivec4 u{name}_tex;  // rows, cols, texel rows and cols per matrix",
             f"#define {name}_RANK {rank}", f"#define {name}_COLS u{name}_tex.y", f"#define {name}_TR u{name}_tex.z",
             f"#define {name}_TC u{name}_tex.w",
             f"vec4 get{name}Texel(int t) {{ return texelFetch({name}, {where}, 0); }}"]
    lines += _shape_lines(name, rank)
    if rank > 2:
        lines.append(f"uniform int u{name}_strides[{rank - 2}];")
    # Texel row `row` (of all matrices') at texel col j: a straight texelFetch when rows stack matrices.
    fetch = f"texelFetch({name}, ivec2(j, row), 0)" if s.natural else f"get{name}Texel(row * {name}_TC + j)"
    lines += [f"int get{name}MatrixRow(int b) {{ return b * {name}_TR; }}",
              f"vec4 get{name}TexelAt(int row, int j) {{ return {fetch}; }}",
              f"vec4 get{name}MatrixTexel(int b, int i, int j) {{ return get{name}TexelAt(b * {name}_TR + i, j); }}"]
    names = [f"d{i}" for i in range(rank)]
    params = ", ".join(f"int {n}" for n in names)
    if rank >= 2:
        if rank > 2:
            lead = ", ".join(f"int {n}" for n in names[:-2])
            lines.append(f"int get{name}Batch({lead}) {{ return {_flat(name, s.units, rank - 2)}; }}")
        batch = f"get{name}Batch({', '.join(names[:-2])})" if rank > 2 else "0"
        body = f"get{name}MatrixTexel({batch}, {names[-2]} >> 1, {names[-1]} >> 1)"
    else:
        body = f"get{name}Texel({'d0 >> 1' if rank == 1 else '0'})"
    lines.append(f"vec4 get{name}({params}) {{ return {body}; }}")
    if out.packed and s.reads:
        lines.append(_packed_at_out_coords(name, s, out))
    return "\n".join(lines) + "\n"


def _packed_at_out_coords(name: str, s: Structure, out: Structure) -> str:
    fn = f"vec4 get{name}AtOutCoords()"
    if s.reads == SAME_TEXEL:
        return f"{fn} {{ return texelFetch({name}, ivec2(gl_FragCoord.xy), 0); }}"
    if s.reads == SAME_INDEX:
        return f"{fn} {{ return get{name}Texel(getOutputTexelIndex()); }}"
    if s.reads == SCALAR:
        return f"{fn} {{ return vec4(get{name}Texel(0).x); }}"
    if s.reads == VECTOR:
        # The output's texel col in its matrix: its last coordinate / 2.
        col = "getOutputCoords() >> 1" if out.rank <= 1 else f"getOutputCoords().{'xyzw'[out.rank - 1]} >> 1"
        return f"{fn} {{ vec4 v = get{name}Texel({col}); return vec4(v.xy, v.xy); }}"
    return ""  # other broadcasts run unpacked (kernels check can_broadcast_packed)
