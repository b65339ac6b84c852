"""Backend-neutral kernels: they move or describe tensors without reading their values."""
from engine.kernels.neutral import functions, graph  # noqa: F401
