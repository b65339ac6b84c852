"""What Backend.run makes of a kernel's exception: bad input (a ValueError, by the kernels' convention,
or numpy's for shapes that don't fit) becomes a KernelError naming node and op; anything else is a bug
and surfaces as itself, with the node and op in a note."""
import dataclasses
import sys

import numpy as np
import pytest

import engine
from engine.backends import get_backend
from engine.backends.base import add_note
from engine.errors import AttrError, KernelError
from engine.kernels import registry
from engine.kernels.cpu.control import TensorList
from tests.conftest import fixture_path
from tests.fixtures import sources

SOFTMAX = "StatefulPartitionedCall/small_cnn_1/probs_1/Softmax"


def _run(backend: str, op: str, inputs: list, attrs: dict | None = None):
    tensors = [x if isinstance(x, TensorList) else engine.tensor(x) for x in inputs]
    return get_backend(backend).run(op, tensors, attrs or {}, node="n")


def _broken(*args, **kwargs):
    raise AttributeError("'NoneType' object has no attribute 'shape'")


def test_a_kernel_bug_surfaces_as_itself_naming_the_node(monkeypatch):
    key = ("Softmax", "cpu")
    monkeypatch.setitem(registry._REGISTRY, key, dataclasses.replace(registry._REGISTRY[key], fn=_broken))
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="cpu")
    with pytest.raises(AttributeError, match="no attribute 'shape'") as caught:
        model.predict(sources.inputs_for("small_cnn"))
    assert not isinstance(caught.value, engine.errors.TfglError)
    assert caught.value.__notes__ == [f"while running node {SOFTMAX!r} (Softmax)"]


@pytest.mark.parametrize("op, inputs, attrs, says", [
    ("AddV2", [np.ones((2, 3), np.float32), np.ones(4, np.float32)], {}, "broadcast"),
    ("GatherV2", [np.ones((3, 2), np.float32), np.array([0, 3], np.int32), np.int32(0)], {}, r"\[0, 3\)"),
    ("Reshape", [np.ones((2, 3), np.float32), np.array([4, -1], np.int32)], {}, "cannot reshape"),
    ("Squeeze", [np.ones((2, 1), np.float32)], {"squeeze_dims": [0]}, "dimension 0 of shape"),
    ("Pack", [], {}, "at least one tensor"),
])
def test_bad_input_is_a_kernel_error_naming_the_node(backend, op, inputs, attrs, says):
    with pytest.raises(KernelError, match=rf"node 'n' \({op}\): .*{says}"):
        _run(backend, op, inputs, attrs)


def test_inputs_of_the_wrong_kind_are_kernel_errors():
    with pytest.raises(KernelError, match=r"\(Sub\): subtract of int32 and float32 inputs is not supported"):
        _run("cpu", "Sub", [np.ones(2, np.int32), np.ones(2, np.float32)])
    with pytest.raises(KernelError, match=r"\(AddV2\): takes 2 inputs, got 1"):
        _run("cpu", "AddV2", [np.ones(2, np.float32)])
    handle = TensorList([], None, "float32")
    with pytest.raises(KernelError, match=r"\(AddV2\): input 1 is a TensorList, not a tensor"):
        _run("cpu", "AddV2", [np.ones(2, np.float32), handle])
    with pytest.raises(KernelError, match=r"\(Shape\): Shape: expected a tensor, got a TensorList"):
        _run("cpu", "Shape", [handle])
    assert _run("cpu", "TensorListLength", [handle])[0].numpy() == 0  # a handle input takes it


def test_an_attr_of_the_wrong_type_is_an_attr_error():
    x, w = np.ones((1, 3, 3, 1), np.float32), np.ones((1, 1, 1, 1), np.float32)
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID"}
    with pytest.raises(AttrError, match="node 'n', attr 'data_format': must be str, got b'N"):
        _run("cpu", "Conv2D", [x, w], {**attrs, "data_format": b"NHWC"})
    with pytest.raises(AttrError, match="attr 'axis': must be int, got 'x'"):
        _run("cpu", "Pack", [x], {"axis": "x"})
    assert _run("cpu", "Conv2D", [x, w], attrs)[0].shape == (1, 3, 3, 1)


def test_an_error_raised_by_an_inner_node_also_names_the_loop_running_it(monkeypatch):
    key = ("AddV2", "cpu")
    monkeypatch.setitem(registry._REGISTRY, key, dataclasses.replace(registry._REGISTRY[key], fn=_broken))
    model = engine.load_graph_model(fixture_path("loop_cf2"), backend="cpu")
    with pytest.raises(AttributeError) as caught:
        model.execute({"x": np.ones((2, 4), np.float32), "n": np.int32(3)})
    notes = caught.value.__notes__
    assert notes[0].endswith("(AddV2)") and notes[-1].endswith("(StatelessWhile)")
    assert all(note.startswith("while running node ") for note in notes)


def test_notes_without_add_note(monkeypatch):
    """Python 3.10 has no BaseException.add_note; the note still lands in __notes__."""
    monkeypatch.setattr(sys, "version_info", (3, 10, 14))
    error = TypeError("x")
    add_note(error, "first")
    add_note(error, "second")
    assert error.__notes__ == ["first", "second"]
