"""How program outputs are stored: float32 textures, or half floats as TF.js stores every intermediate
on devices without float32 render targets (WEBGL_RENDER_FLOAT32_CAPABLE false: many phones).

The webgl-fp16 backend draws into R16F/RGBA16F textures; uploads stay float32, and readbacks widen the
halves to float32. How a GPU converts a float32 result to a half differs between drivers, so the
shaders round each stored value themselves (setOutput), by the rule TFGL_FP16_ROUNDING names:

  rtz     (default) toward zero, finite overflow clamped to +-65504: llvmpipe's conversion, and the
          phone of tfjs#265 (3.3 uploaded, squared and stored gives 10.8828125)
  rne     IEEE's round to nearest even, overflow to +-infinity (numpy's float16)
  driver  no rounding in the shader: whatever this driver's render target does

The rule is part of every program's source, so program caches keep each storage's programs apart.
TFGL_WEBGL_PRECISION=fp16 makes the plain `webgl` backend this one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

import shaders

PRECISION_VARIABLE = "TFGL_WEBGL_PRECISION"
ROUNDING_VARIABLE = "TFGL_FP16_ROUNDING"
# Paths spelled out so that grepping a shader's path finds the code that uses it.
_ROUNDING_SHADERS = {"rtz": "common/half_rtz.glsl", "rne": "common/half_rne.glsl", "driver": None}


@dataclass(frozen=True)
class OutputStorage:
    """What programs write into: the texture format of their outputs and the GLSL that rounds to it."""

    name: str             # "float32", or "fp16-<rounding>"
    texture_dtype: str    # moderngl's dtype of output textures: "f4" or "f2"
    header: str = ""      # GLSL after the common header: tfgl_half() where `rounds`
    rounds: bool = False  # setOutput stores tfgl_half(value)

    @property
    def half(self) -> bool:
        return self.texture_dtype == "f2"

    def stored(self, expression: str) -> str:
        """The GLSL expression setOutput writes for `expression`."""
        return f"tfgl_half({expression})" if self.rounds else expression


FLOAT32 = OutputStorage("float32", "f4")


def half_storage(rounding: str | None = None) -> OutputStorage:
    """Half-float storage with `rounding` (default: TFGL_FP16_ROUNDING, else rtz)."""
    rounding = (rounding or os.environ.get(ROUNDING_VARIABLE, "") or "rtz").strip().lower()
    if rounding not in _ROUNDING_SHADERS:
        raise ValueError(f"{ROUNDING_VARIABLE}={rounding!r}: use one of {', '.join(_ROUNDING_SHADERS)}")
    return _half_storage(rounding)


@cache  # one object per rule: backends are found by it at every model call
def _half_storage(rounding: str) -> OutputStorage:
    path = _ROUNDING_SHADERS[rounding]
    # The driver's own conversion still marks the source, so no cache hands a float32 program over.
    header = shaders.source(path) if path else "// half-float outputs: the render target rounds\n"
    return OutputStorage(f"fp16-{rounding}", "f2", header, rounds=path is not None)


def fp16_by_default() -> bool:
    """Whether TFGL_WEBGL_PRECISION makes the plain webgl backend store halves."""
    setting = os.environ.get(PRECISION_VARIABLE, "").strip().lower()
    if setting not in ("", "fp32", "fp16"):
        raise ValueError(f"{PRECISION_VARIABLE}={setting!r}: use fp32 or fp16")
    return setting == "fp16"
