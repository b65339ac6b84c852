"""GLSL kernels of the WebGL backend, one module per op family; their GLSL lives in shaders/."""
from engine.kernels.webgl import arithmetic  # noqa: F401  (importing registers the kernels)
from engine.kernels.webgl import slice_join  # noqa: F401
from engine.kernels.webgl import transformation  # noqa: F401
from engine.kernels.webgl import creation  # noqa: F401
from engine.kernels.webgl import matrices  # noqa: F401
from engine.kernels.webgl import normalization  # noqa: F401
from engine.kernels.webgl import reduction  # noqa: F401
from engine.kernels.webgl import basic_math  # noqa: F401
from engine.kernels.webgl import logical  # noqa: F401
from engine.kernels.webgl import image  # noqa: F401
from engine.kernels.webgl import convolution  # noqa: F401
