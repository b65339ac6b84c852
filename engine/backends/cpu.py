"""The numpy CPU backend: runs every op; the fallback of the WebGL backend."""
from __future__ import annotations

from engine.backends.base import Backend
from engine.kernels.registry import BACKEND_NEUTRAL


class CPUBackend(Backend):
    name = "cpu"
    kernel_chain = ("cpu", BACKEND_NEUTRAL)
    fuses_elementwise = True
