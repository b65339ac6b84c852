"""The real-model suite's comparisons reject what they must (no network needed)."""
import numpy as np
import pytest

from tests.real.test_real_models import assert_close, assert_same_detections


def test_detections_match_in_any_order_but_not_when_one_moves():
    boxes = np.array([[[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.9, 0.9], [0.0, 0.0, 0.1, 0.1]]], np.float32)
    assert_same_detections(boxes[:, ::-1], boxes, "reordered")
    moved = boxes.copy()
    moved[0, 1, 2] += 0.01
    with pytest.raises(AssertionError, match="no match"):
        assert_same_detections(moved, boxes, "moved")


def test_close_needs_1e3_unless_the_output_is_ill_conditioned():
    want = np.linspace(-1, 1, 100).astype(np.float32)
    assert_close(want + 5e-4, want, "within")
    with pytest.raises(AssertionError, match="one-ulp input change moves it only"):
        assert_close(want + 5e-3, want, "off", sensitivity=lambda: 1e-6)
    assert_close(want + 2e-3, want, "ill-conditioned", sensitivity=lambda: 8e-4)
    with pytest.raises(AssertionError, match="4 x its one-ulp sensitivity"):
        assert_close(want + 5e-3, want, "too far even so", sensitivity=lambda: 8e-4)
    with pytest.raises(AssertionError, match="NaN positions"):
        assert_close(np.where(want > 0, np.nan, want), want, "nan")
