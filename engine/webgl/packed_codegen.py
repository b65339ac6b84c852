"""Headers of programs over packed textures (WEBGL_PACK layout, see textures.py): the output's
texel coordinates and a vec4 setOutput, and per input a getX(coords) that returns the texel holding
those coordinates (rows and cols rounded down to even), as TF.js's packed samplers.

A program reads one component of a texel with the row's and col's parity: (r & 1) * 2 + (c & 1).
"""
from __future__ import annotations

from math import prod

from engine.webgl.glsl import construct_coords, coords_type
from engine.webgl.half_float import FLOAT32, OutputStorage
from engine.webgl.textures import packed_texels


def _batch_terms(shape: tuple[int, ...], names: list[str]) -> str:
    """The flat batch index of leading coordinates `names` (unit dims dropped)."""
    lead = shape[:-2]
    terms, stride = [], 1
    for d, name in reversed(list(zip(lead, names))):
        if d != 1:
            terms.append(name if stride == 1 else f"{name} * {stride}")
        stride *= d
    return " + ".join(reversed(terms)) or "0"


def output_header(shape: tuple[int, ...], rows: int, cols: int, storage: OutputStorage = FLOAT32) -> str:
    rank = len(shape)
    if rank > 4:
        raise ValueError("packed programs take tensors of rank 4 or less")
    batch, tr, tc = packed_texels(shape)
    r_size = shape[-2] if rank >= 2 else 1
    c_size = shape[-1] if rank >= 1 else 1
    lines = [f"#define OUT_TEXELS {max(1, batch * tr * tc)}", f"#define OUT_ROWS {rows}", f"#define OUT_COLS {cols}",
             f"#define OUT_RANK {rank}", f"#define OUT_TR {tr}", f"#define OUT_TC {tc}"]
    lines += [f"#define OUT_SHAPE_{i} {d}" for i, d in enumerate(shape)]
    lines.append("int getOutputTexelIndex() { ivec2 rc = ivec2(gl_FragCoord.xy); return rc.y * OUT_COLS + rc.x; }")
    body = ["int t = getOutputTexelIndex();", "int c = (t % OUT_TC) * 2;", "t /= OUT_TC;",
            "int r = (t % OUT_TR) * 2;", "int b = t / OUT_TR;"]
    lead = [f"d{i}" for i in range(rank - 2)]
    for i, name in enumerate(lead):
        inner = prod(shape[i + 1:rank - 2])
        body.append(f"int {name} = b / {inner}; b -= {name} * {inner};")
    parts = lead + ["r", "c"] if rank >= 2 else ["c"]
    value = construct_coords(rank, parts)
    body.append(f"return {value};")
    lines.append(f"{coords_type(rank)} getOutputCoords() {{ {' '.join(body)} }}")
    masks = []
    if c_size % 2:
        masks.append(f"if ((t % OUT_TC) * 2 + 1 >= {c_size}) v.yw = vec2(0.0);")
    if r_size % 2:
        masks.append(f"if (((t / OUT_TC) % OUT_TR) * 2 + 1 >= {r_size}) v.zw = vec2(0.0);")
    mask = " ".join(["int t = getOutputTexelIndex();"] + masks) if masks else ""
    # Components past the shape stay zero: products over a padded shared dim then add nothing.
    lines.append(f"void setOutput(vec4 v) {{ {mask} tfgl_output = {storage.stored('v')}; }}")
    return "\n".join(lines) + "\n"


def sampler_header(name: str, shape: tuple[int, ...], cols: int, rows: int, out_shape: tuple[int, ...],
                   out_packed: bool) -> str:
    rank = len(shape)
    if rank > 4:
        raise ValueError("packed programs take tensors of rank 4 or less")
    _, tr, tc = packed_texels(shape)
    where = "ivec2(t, 0)" if rows == 1 else f"ivec2(t % {cols}, t / {cols})"
    lines = [f"uniform sampler2D {name};", f"#define {name}_RANK {rank}", f"#define {name}_TR {tr}",
             f"#define {name}_TC {tc}",
             f"vec4 get{name}Texel(int t) {{ return texelFetch({name}, {where}, 0); }}"]
    lines += [f"#define {name}_SHAPE_{i} {d}" for i, d in enumerate(shape)]
    names = [f"d{i}" for i in range(rank)]
    params = ", ".join(f"int {n}" for n in names)
    if rank >= 2:
        index = f"(({_batch_terms(shape, names)}) * {tr} + ({names[-2]} >> 1)) * {tc} + ({names[-1]} >> 1)"
    elif rank == 1:
        index = "d0 >> 1"
    else:
        index = "0"
    lines.append(f"vec4 get{name}({params}) {{ return get{name}Texel({index}); }}")
    # Texel row `row` (of all matrices') at texel col j: a straight texelFetch when rows stack
    # matrices. Kernels with inner loops take a matrix's row out of them (MatrixRow, Batch).
    natural = cols == tc
    fetch = f"texelFetch({name}, ivec2(j, row), 0)" if natural else f"get{name}Texel(row * {tc} + j)"
    lines += [f"int get{name}MatrixRow(int b) {{ return b * {tr}; }}",
              f"vec4 get{name}TexelAt(int row, int j) {{ return {fetch}; }}",
              f"vec4 get{name}MatrixTexel(int b, int i, int j) {{ return get{name}TexelAt(b * {tr} + i, j); }}"]
    if rank > 2:
        lines.append(f"int get{name}Batch({', '.join(f'int {n}' for n in names[:-2])}) {{ "
                     f"return {_batch_terms(shape, names)}; }}")
    if out_packed:
        lines.append(_at_out_coords(name, shape, out_shape))
    return "\n".join(lines) + "\n"


def _at_out_coords(name: str, shape: tuple[int, ...], out_shape: tuple[int, ...]) -> str:
    """The texel matching the output's: same shape, a scalar, or a vector along the last dim."""
    fn = f"vec4 get{name}AtOutCoords()"
    if tuple(shape) == tuple(out_shape):
        return f"{fn} {{ return get{name}Texel(getOutputTexelIndex()); }}"
    if prod(shape) == 1:
        return f"{fn} {{ return vec4(get{name}Texel(0).x); }}"
    if out_shape and prod(shape) == out_shape[-1] and shape[-1] == out_shape[-1]:
        return (f"{fn} {{ vec4 v = get{name}Texel((getOutputTexelIndex() % OUT_TC)); "
                f"return vec4(v.xy, v.xy); }}")
    return ""  # other broadcasts run unpacked (kernels check can_broadcast_packed)


def can_broadcast_packed(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> bool:
    return bool(_at_out_coords("X", shape, out_shape))
