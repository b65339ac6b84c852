"""Backend-neutral kernels: they move or describe tensors without reading their values."""
