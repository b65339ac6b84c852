"""Shape-generic headers (TF.js's WEBGL_USE_SHAPES_UNIFORMS): shapes, strides and texture shapes
reach the shader as uniforms, so one compiled program serves every shape of the same structure.

A program's GLSL then depends only on each layout's `Structure` (rank, packing, how its texels are
addressed and how it is read at the output's coordinates), which is all the headers here look at;
`values` gives the uniforms of actual layouts, set before each draw. The macro names are those of
the constant headers (OUT_SHAPE_1, A_TC, ...), defined from the uniforms, so kernels' GLSL reads the
same either way. Unit dims get stride 0: a broadcast read ignores the coordinate there, as the
constant headers' dropped terms do.
"""
from __future__ import annotations

from math import prod
from typing import NamedTuple

from engine.webgl.textures import packed_texels

_COMPONENTS = "xyzw"
# How getXAtOutCoords reads an input: the output's own texel, the same flat index or texel index (same
# shape, other texture), one value, a packed vector along the last dim, a broadcast of the output's coords.
SAME_TEXEL, SAME_INDEX, SCALAR, VECTOR, BROADCAST = "texel", "index", "scalar", "vector", "broadcast"


class Structure(NamedTuple):
    """What a layout's header code depends on; two layouts with equal structures share source."""
    rank: int
    packed: bool
    one_row: bool = False    # rows == 1: the texel index is the x coordinate
    natural: bool = False    # packed, cols == TC: matrix texel (b, i, j) sits at (j, b * TR + i)
    reads: str = ""          # an input's read at the output's coordinates (see above)
    odd_rows: bool = False   # a packed output's last texel row / col is half outside the shape
    odd_cols: bool = False


def output_structure(shape, rows: int, cols: int, packed: bool) -> Structure:
    rank = len(shape)
    if not packed:
        return Structure(rank, False, rows == 1)
    return Structure(rank, True, rows == 1, odd_rows=rank >= 2 and shape[-2] % 2 == 1,
                     odd_cols=rank >= 1 and shape[-1] % 2 == 1)


def input_structure(shape, rows: int, cols: int, packed: bool, out_shape, out_rows: int, out_cols: int,
                    out_packed: bool) -> Structure:
    shape, out_shape = tuple(shape), tuple(out_shape)
    if shape == out_shape and (rows, cols) == (out_rows, out_cols) and packed == out_packed:
        reads = SAME_TEXEL
    elif shape == out_shape:
        reads = SAME_INDEX
    elif prod(shape) == 1:
        reads = SCALAR
    elif packed and out_shape and prod(shape) == out_shape[-1] and shape[-1] == out_shape[-1]:
        reads = VECTOR
    else:
        reads = BROADCAST
    natural = packed and cols == packed_texels(shape)[2]
    return Structure(len(shape), packed, rows == 1, natural, reads)


# -- uniform values -----------------------------------------------------------------------------------
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
    return out


# -- headers ------------------------------------------------------------------------------------------
def _coords_type(rank: int) -> str:
    return {0: "int", 1: "int", 2: "ivec2", 3: "ivec3", 4: "ivec4", 5: "ivec5", 6: "ivec6"}[rank]


def _construct(rank: int, parts: list[str]) -> str:
    return (parts[0] if parts else "0") if rank <= 1 else f"{_coords_type(rank)}({', '.join(parts)})"


def _shape_lines(name: str, rank: int) -> list[str]:
    if not rank:
        return []
    return [f"uniform int u{name}_shape[{rank}];"] + [f"#define {name}_SHAPE_{i} u{name}_shape[{i}]"
                                                      for i in range(rank)]


# llvmpipe scalarizes integer division (one lane at a time) but not float division: a float quotient,
# corrected by one step, is exact for 0 <= a < 2**24 (texel indices and coordinates).
DIV_INT = """int divInt(int a, int b) {
  int q = int(float(a) / float(b)), r = a - q * b;
  return q - int(r < 0) + int(r >= b);
}"""


def output_header(s: Structure) -> str:
    rank = s.rank
    lines = [DIV_INT] + _shape_lines("OUT", rank) + [f"#define OUT_RANK {rank}"]
    if not s.packed:
        lines += ["uniform ivec3 uOUT_tex;  // rows, cols, size",
                  "#define OUT_ROWS uOUT_tex.x", "#define OUT_COLS uOUT_tex.y", "#define OUT_SIZE uOUT_tex.z",
                  "int getOutputFlatIndex() { ivec2 rc = ivec2(gl_FragCoord.xy); return rc.y * OUT_COLS + rc.x; }",
                  "void setOutput(float value) { tfgl_output = vec4(value, 0.0, 0.0, 0.0); }"]
        body = ["int index = getOutputFlatIndex();"]
        if rank > 1:
            lines.append(f"uniform int uOUT_strides[{rank}];")
        for i in range(rank - 1):
            body.append(f"int c{i} = divInt(index, uOUT_strides[{i}]); index -= c{i} * uOUT_strides[{i}];")
        if rank:
            body.append(f"int c{rank - 1} = index;")
        body.append(f"return {_construct(rank, [f'c{i}' for i in range(rank)])};")
        lines.append(f"{_coords_type(rank)} getOutputCoords() {{ {' '.join(body)} }}")
        return "\n".join(lines) + "\n"
    lines += ["uniform ivec4 uOUT_tex;  // rows, cols, texel rows and cols per matrix", "uniform int uOUT_texels;",
              "#define OUT_ROWS uOUT_tex.x", "#define OUT_COLS uOUT_tex.y", "#define OUT_TR uOUT_tex.z",
              "#define OUT_TC uOUT_tex.w", "#define OUT_TEXELS uOUT_texels",
              "int getOutputTexelIndex() { ivec2 rc = ivec2(gl_FragCoord.xy); return rc.y * OUT_COLS + rc.x; }"]
    body = ["int t = getOutputTexelIndex();", "int tr = divInt(t, OUT_TC);", "int c = (t - tr * OUT_TC) * 2;",
            "int b = divInt(tr, OUT_TR);", "int r = (tr - b * OUT_TR) * 2;"]
    if rank > 2:
        lines.append(f"uniform int uOUT_strides[{rank - 2}];")
    lead = [f"d{i}" for i in range(rank - 2)]
    for i, name in enumerate(lead):
        body.append(f"int {name} = divInt(b, uOUT_strides[{i}]); b -= {name} * uOUT_strides[{i}];")
    parts = lead + ["r", "c"] if rank >= 2 else ["c"]
    body.append(f"return {_construct(rank, parts)};")
    lines.append(f"{_coords_type(rank)} getOutputCoords() {{ {' '.join(body)} }}")
    masks = []
    coords = "getOutputCoords()" if rank > 1 else "ivec2(0, getOutputCoords())"
    if s.odd_cols:
        masks.append(f"if (rc.y + 1 >= OUT_SHAPE_{rank - 1}) v.yw = vec2(0.0);")
    if s.odd_rows:
        masks.append(f"if (rc.x + 1 >= OUT_SHAPE_{rank - 2}) v.zw = vec2(0.0);")
    mask = " ".join([f"ivec2 rc = {coords}.{'xy' if rank == 2 else 'yz' if rank == 3 else 'zw'};"] + masks) \
        if masks else ""
    # Components past the shape stay zero: products over a padded shared dim then add nothing.
    lines.append(f"void setOutput(vec4 v) {{ {mask} tfgl_output = v; }}")
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
    index = " + ".join(f"d{i} * u{name}_strides[{i}]" for i in range(rank)) or "0"
    lines.append(f"float get{name}({params}) {{ return get{name}Flat({index}); }}")
    if not out.packed:
        lines.append(f"float get{name}AtOutCoords() {{ {_at_out_coords(name, s, out)} }}")
    return "\n".join(lines) + "\n"


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
    return f"{_coords_type(out.rank)} coords = getOutputCoords(); return get{name}({', '.join(args)});"


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
    # Texel (i, j) of matrix b, in texel units: a straight texelFetch when rows stack matrices.
    fetch = f"texelFetch({name}, ivec2(j, b * {name}_TR + i), 0)" if s.natural \
        else f"get{name}Texel((b * {name}_TR + i) * {name}_TC + j)"
    lines.append(f"vec4 get{name}MatrixTexel(int b, int i, int j) {{ return {fetch}; }}")
    names = [f"d{i}" for i in range(rank)]
    params = ", ".join(f"int {n}" for n in names)
    if rank >= 2:
        batch = " + ".join(f"{n} * u{name}_strides[{i}]" for i, n in enumerate(names[:-2])) or "0"
        body = f"get{name}MatrixTexel({batch}, {names[-2]} >> 1, {names[-1]} >> 1)"
    else:
        body = f"get{name}Texel({'d0 >> 1' if rank == 1 else '0'})"
    lines.append(f"vec4 get{name}({params}) {{ return {body}; }}")
    if out.packed:
        lines.append(_packed_at_out_coords(name, s))
    return "\n".join(lines) + "\n"


def _packed_at_out_coords(name: str, s: Structure) -> str:
    fn = f"vec4 get{name}AtOutCoords()"
    if s.reads == SAME_TEXEL:
        return f"{fn} {{ return texelFetch({name}, ivec2(gl_FragCoord.xy), 0); }}"
    if s.reads == SAME_INDEX:
        return f"{fn} {{ return get{name}Texel(getOutputTexelIndex()); }}"
    if s.reads == SCALAR:
        return f"{fn} {{ return vec4(get{name}Texel(0).x); }}"
    if s.reads == VECTOR:
        return (f"{fn} {{ int t = getOutputTexelIndex(); vec4 v = get{name}Texel(t - divInt(t, OUT_TC) * OUT_TC); "
                "return vec4(v.xy, v.xy); }")
    return ""  # other broadcasts run unpacked (kernels check can_broadcast_packed)
