"""GLSL sources of tfgl's WebGL kernels, one file per op (grouped by family) plus shared templates.

Each op file defines the op's math; a template under templates/ defines `void run()`, which the
generated header's `main()` calls once per output element.
"""
from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def source(name: str) -> str:
    """The text of shaders/<name>, e.g. 'basic_math/relu.glsl'."""
    return resources.files(__package__).joinpath(name).read_text()
