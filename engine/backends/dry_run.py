"""What a compile-only run (the WebGL backend's warm-up dry run) makes and must delete when it ends,
and the first draws it puts off until the parallel JIT workers have filled the driver's cache."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.webgl import parallel_jit
from engine.webgl.textures import GLTensorData, TextureManager


def stand_in_size(n: int) -> int:
    """A compile-only run's texture side for a real side of n texels: what a driver compiles into a
    shader from texture sizes is kept (llvmpipe: whether each is a power of two, backends/webgl.py
    driver_variant), the memory is not: one pixel is drawn, and what it reads out of bounds is never used."""
    return 1 if n & (n - 1) == 0 else 3


class ThrowawayPool(TextureManager):
    """A compile-only run's textures, stand-ins a few texels wide: it remembers every one it made, to
    delete them all at the end."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.made: list = []

    def acquire(self, rows: int, cols: int, channels: int = 1):
        created = self.created
        texture = super().acquire(stand_in_size(rows), stand_in_size(cols), channels)
        if self.created != created:
            self.made.append(texture)
        return texture


@dataclass
class DeferredDraw:
    compiled: object                # the backend's linked program
    job: parallel_jit.Job
    fbo: object
    textures: list
    uniforms: list
    name: str
    layouts: str
    link_ms: float


@dataclass
class DryRun:
    """What a compile-only run made, deleted when it ends: uploads it attached to tensors (a weight
    among them; kernels alias a tensor once uploaded, as a real run's do, so they take the same
    paths), and those it kept aside, and twins. Keyed by id() with the object held, so an id is
    never reused meanwhile."""

    pool: ThrowawayPool
    attached: list = field(default_factory=list)      # (tensor, the upload it was given)
    uploads: dict = field(default_factory=dict)       # id(tensor) -> (tensor, its upload)
    twins: dict = field(default_factory=dict)         # id(data) -> (data, {layout key: twin})
    framebuffers: dict = field(default_factory=dict)  # texture glo -> one-pixel framebuffer
    # DeferredDraws: new programs' (and new driver variants') first draws, made after the workers' (None:
    # draw at once)
    deferred: list | None = None

    def twins_of(self, data: GLTensorData) -> dict:
        return self.twins.setdefault(id(data), (data, {}))[1]

    def discard(self) -> None:
        for tensor, data in self.attached:
            if tensor.device_data is data:
                tensor.dispose()
        for _, data in self.uploads.values():
            data.release()
        for _, twins in self.twins.values():
            for twin in twins.values():
                twin.release()
        for fbo in self.framebuffers.values():
            fbo.release()
        for texture in self.pool.made:
            texture.release()
        self.attached, self.uploads, self.twins, self.framebuffers, self.pool.made = [], {}, {}, {}, []
