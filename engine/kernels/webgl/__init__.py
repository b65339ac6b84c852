"""GLSL kernels of the WebGL backend, one module per op family; their GLSL lives in shaders/."""
from engine.kernels.webgl import arithmetic  # noqa: F401  (importing registers the kernels)
