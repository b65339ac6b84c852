"""Choosing the EGL device of the GPU in CUDA_VISIBLE_DEVICES (what Ray gives an actor), on fake device
lists: (EGL index, CUDA ordinal or None) per EGL device, in EGL's order."""
import logging

import pytest

from engine.webgl import context, egl_devices
from engine.webgl.egl_devices import device_for_visible_cuda

# EGL lists a Mesa software device first and the GPUs in an order of its own.
MESA_FIRST = [(0, None), (1, 2), (2, 0), (3, 1)]


@pytest.mark.parametrize("visible", [None, "", "-1", "NoDevFiles"])
def test_no_gpu_assigned_keeps_the_default_device(visible):
    assert device_for_visible_cuda(MESA_FIRST, visible) is None


def test_without_the_nvidia_extension_the_default_device_renders(caplog):
    with caplog.at_level(logging.INFO, logger=egl_devices.__name__):
        assert device_for_visible_cuda([(0, None), (1, None)], "1") is None
    assert "EGL_NV_device_cuda" in caplog.text


@pytest.mark.parametrize("visible", ["3", "GPU-5c2d0e7a-1f3b-4b8e-9a6f-0123456789ab", "MIG-7f3c1a2b-0000-4c1d"])
def test_ordinals_as_this_process_sees_them_pick_ordinal_zero(visible):
    """The driver numbers only the GPUs CUDA_VISIBLE_DEVICES shows, from 0: whatever names the first
    visible one (index, UUID, MIG instance), it is CUDA ordinal 0, here EGL device 2."""
    assert device_for_visible_cuda([(0, None), (1, None), (2, 0), (3, None)], visible) == 2
    assert device_for_visible_cuda([(0, None), (1, 1), (2, 0), (3, None)], visible + ",1") == 2


def test_ordinals_of_every_gpu_of_the_machine_pick_the_named_gpu():
    assert device_for_visible_cuda(MESA_FIRST, "1") == 3
    assert device_for_visible_cuda(MESA_FIRST, " 2 ") == 1


def test_a_uuid_cannot_be_matched_against_machine_ordinals(caplog):
    with caplog.at_level(logging.INFO, logger=egl_devices.__name__):
        assert device_for_visible_cuda(MESA_FIRST, "GPU-5c2d0e7a-1f3b-4b8e-9a6f-0123456789ab") is None
    assert "UUID" in caplog.text


def test_a_gpu_no_egl_device_renders_on_falls_back(caplog):
    with caplog.at_level(logging.INFO, logger=egl_devices.__name__):
        assert device_for_visible_cuda(MESA_FIRST, "7") is None
    assert "CUDA device 7" in caplog.text


def test_the_context_opens_on_the_mapped_device_unless_tfgl_gl_device_says(monkeypatch):
    monkeypatch.delenv("TFGL_GL_DEVICE", raising=False)
    monkeypatch.setattr(egl_devices, "egl_cuda_devices", lambda: MESA_FIRST)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert context._egl_device() == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")
    assert context._egl_device() == 0
    monkeypatch.setenv("TFGL_GL_DEVICE", "3")
    assert context._egl_device() == 3
    monkeypatch.delenv("TFGL_GL_DEVICE")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(egl_devices, "egl_cuda_devices", lambda: pytest.fail("queried EGL with no GPU assigned"))
    assert context._egl_device() == 0


def test_this_machines_egl_devices_are_listed_in_order():
    """Real libEGL (Mesa in CI: no NVIDIA extension, so no ordinals; an NVIDIA driver gives them)."""
    found = egl_devices.egl_cuda_devices()
    assert [index for index, _ in found] == list(range(len(found)))
    assert all(ordinal is None or ordinal >= 0 for _, ordinal in found)
