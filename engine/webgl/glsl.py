"""GLSL spelled from Python that every header generator (compiler.py, packed_codegen.py,
shape_uniforms.py) and some kernels need: the coordinate type of a rank and its constructor."""
from __future__ import annotations

# ivec5 and ivec6 are structs the common header declares (GLSL stops at ivec4).
_COORDS_TYPES = {0: "int", 1: "int", 2: "ivec2", 3: "ivec3", 4: "ivec4", 5: "ivec5", 6: "ivec6"}


def coords_type(rank: int) -> str:
    return _COORDS_TYPES[rank]


def construct_coords(rank: int, parts: list[str]) -> str:
    """A coordinate of `rank` from per-dimension expressions (an int for ranks 0 and 1)."""
    if rank <= 1:
        return parts[0] if parts else "0"
    return f"{coords_type(rank)}({', '.join(parts)})"
