"""Kernels: one module per op family and backend. Importing this package registers them all."""
from engine.kernels import registry  # noqa: F401
from engine.kernels import cpu  # noqa: F401  (registers the CPU kernels)
from engine.kernels import neutral  # noqa: F401  (registers the backend-neutral kernels)
from engine.kernels import webgl  # noqa: F401  (registers the GL kernels; imports no OpenGL)
