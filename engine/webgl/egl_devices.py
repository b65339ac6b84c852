"""Which EGL device renders on the GPU that CUDA_VISIBLE_DEVICES names.

A scheduler (Ray, Slurm, Kubernetes) hands a process its GPU through CUDA_VISIBLE_DEVICES, but EGL
lists every GPU of the machine, in an order of its own. NVIDIA's EGL_NV_device_cuda tells each EGL
device's CUDA ordinal; the driver numbers those ordinals as this process's CUDA sees them, after
CUDA_VISIBLE_DEVICES, so the assigned GPU is the one with ordinal 0 (and GPUs hidden from CUDA
report none). Where the extension or libEGL is missing (Mesa, no NVIDIA driver), or nothing
matches, the context falls back to the default device.
"""
from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

EGL_EXTENSIONS = 0x3055
EGL_CUDA_DEVICE_NV = 0x323A
MAX_DEVICES = 32

# CUDA reads CUDA_VISIBLE_DEVICES up to its first invalid entry: these hide every GPU.
_NO_GPU = ("", "-1", "NoDevFiles")


def device_for_visible_cuda(devices: Sequence[tuple[int, int | None]], visible: str | None) -> int | None:
    """The EGL device index rendering on the first GPU of `visible` (CUDA_VISIBLE_DEVICES), or None
    for the default device. `devices`: (EGL index, CUDA ordinal or None) per EGL device, in EGL's order."""
    if visible is None:
        return None
    entries = [entry.strip() for entry in visible.split(",")]
    if entries[0] in _NO_GPU:
        log.info("CUDA_VISIBLE_DEVICES=%r hides every GPU: the default EGL device renders", visible)
        return None
    by_ordinal = {ordinal: index for index, ordinal in devices if ordinal is not None}
    if not by_ordinal:
        log.info("no EGL device tells its CUDA device (no EGL_NV_device_cuda): the default EGL device renders")
        return None
    if len(by_ordinal) <= len(entries):
        target = 0  # numbered as this process's CUDA sees them: the first visible GPU is ordinal 0
    elif entries[0].isdigit():
        target = int(entries[0])  # every GPU reports an ordinal, so they count the machine's GPUs
    else:
        log.info("EGL numbers every GPU of the machine and CUDA_VISIBLE_DEVICES=%r names its first by UUID, "
                 "which EGL cannot match: the default EGL device renders", visible)
        return None
    if target not in by_ordinal:
        log.info("no EGL device renders on CUDA device %d (CUDA_VISIBLE_DEVICES=%r): the default EGL device renders",
                 target, visible)
        return None
    return by_ordinal[target]


def egl_cuda_devices() -> list[tuple[int, int | None]]:
    """(EGL index, CUDA ordinal or None) for each EGL device, in the order moderngl's `device_index`
    counts them; empty where libEGL or device enumeration is missing."""
    try:
        egl = ctypes.CDLL("libEGL.so.1")
    except OSError:
        return []
    get_proc = egl.eglGetProcAddress
    get_proc.restype, get_proc.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    query_devices, query_string, query_attrib = (get_proc(name) for name in (
        b"eglQueryDevicesEXT", b"eglQueryDeviceStringEXT", b"eglQueryDeviceAttribEXT"))
    if not (query_devices and query_string and query_attrib):
        return []
    query_devices = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                     ctypes.POINTER(ctypes.c_int))(query_devices)
    query_string = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)(query_string)
    query_attrib = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_ssize_t))(query_attrib)
    handles, count = (ctypes.c_void_p * MAX_DEVICES)(), ctypes.c_int(0)
    if not query_devices(MAX_DEVICES, handles, ctypes.byref(count)):
        return []
    found = []
    for index in range(count.value):
        extensions = (query_string(handles[index], EGL_EXTENSIONS) or b"").split()
        ordinal = ctypes.c_ssize_t(-1)
        known = b"EGL_NV_device_cuda" in extensions and query_attrib(handles[index], EGL_CUDA_DEVICE_NV,
                                                                      ctypes.byref(ordinal))
        found.append((index, ordinal.value if known else None))
    return found
