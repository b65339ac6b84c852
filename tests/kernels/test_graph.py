"""Graph-family ops (engine/kernels/neutral/graph.py) against tf.raw_ops on every backend.

They never read values, so each runs on every dtype tfgl stores, on scalars and empty tensors, and on
webgl on GPU-resident tensors (the harness uploads them first), which they must not download."""
import numpy as np
import pytest

import engine
from engine.errors import KernelError
from tests.kernels.harness import (assert_close, assert_rejects, check, gpu_ints, i32, rand, run_engine, run_tf, tf,
                                   to_tensor)

pytestmark = pytest.mark.tf

DTYPES = ["float32", "int32", "int64", "bool", "string", "complex64"]
SHAPES = [(), (0, 3), (3, 4)]


# -- identities ---------------------------------------------------------------------------------------

# TensorFlow registers no string Snapshot kernel, so that pair has no reference to compare with.
IDENTITY_CASES = [(op, dtype) for op in ("Identity", "Snapshot", "StopGradient", "PreventGradient")
                  for dtype in DTYPES if (op, dtype) != ("Snapshot", "string")]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op,dtype", IDENTITY_CASES)
def test_identities(backend, rng, op, dtype, shape):
    attrs = {"message": "no gradient here"} if op == "PreventGradient" else None
    check(backend, op, [rand(rng, shape, dtype, specials=True)], attrs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,declared", [((), []), ((0, 3), [0, 3]), ((3, 4), [-1, 4]), ((3, 4), None)],
                         ids=str)
def test_placeholder_with_default(backend, rng, dtype, shape, declared):
    """A graph's default for an input nobody fed; `declared` is its (partly known, or unknown) shape attr."""
    check(backend, "PlaceholderWithDefault", [rand(rng, shape, dtype, specials=True)], {"shape": declared})


def test_identity_n_mixed_dtypes_and_shapes(backend, rng):
    inputs = [rand(rng, (2, 3), "float32", specials=True), rand(rng, (4,), "string"), rand(rng, (0, 2), "int32"),
              rand(rng, (), "bool")]
    check(backend, "IdentityN", inputs)


def test_identity_n_of_one(backend, rng):
    check(backend, "IdentityN", [rand(rng, (5,), "int32")])


def test_identities_pass_tensor_list_handles_through(backend, rng):
    """In while loops TensorFlow puts Identity and IdentityN on TensorList handles: the list that comes out
    holds what went in, as TensorFlow's does."""
    t = tf()
    rows, element_shape = rand(rng, (3, 2)), i32([2])
    impl = engine.get_backend(backend)
    handle = impl.run("TensorListFromTensor", [to_tensor(rows), to_tensor(element_shape)])[0]
    passed = impl.run("IdentityN", [impl.run("Identity", [handle])[0]])[0]
    got = impl.run("TensorListStack", [passed, to_tensor(element_shape)], {"element_dtype": "float32"})[0]
    tf_handle = t.raw_ops.TensorListFromTensor(tensor=rows, element_shape=element_shape)
    tf_passed = t.raw_ops.IdentityN(input=[t.raw_ops.Identity(input=tf_handle)])[0]
    want = t.raw_ops.TensorListStack(input_handle=tf_passed, element_shape=element_shape, element_dtype=t.float32)
    assert_close(got.numpy(), want.numpy(), what=f"TensorList through identities on {backend}")


# -- shape queries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("out_type", ["int32", "int64"])
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (3, 4), (1, 2, 1, 3, 1, 2)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_shape_and_size(backend, rng, dtype, shape, out_type):
    x = rand(rng, shape, dtype)
    check(backend, "Shape", [x], {"out_type": out_type})
    check(backend, "Size", [x], {"out_type": out_type})


@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (1, 2, 1, 3, 1, 2)], ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_rank(backend, rng, dtype, shape):
    check(backend, "Rank", [rand(rng, shape, dtype)])


@pytest.mark.parametrize("out_type", ["int32", "int64"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shape_n(backend, rng, dtype, out_type):
    """ShapeN's inputs share one dtype (its attr T)."""
    inputs = [rand(rng, shape, dtype) for shape in [(2, 3), (), (0, 4, 1), (5,)]]
    check(backend, "ShapeN", inputs, {"out_type": out_type})


@pytest.mark.parametrize("op", ["Shape", "ShapeN", "Size", "Rank", "EnsureShape"])
def test_shape_queries_refuse_a_tensor_list_handle(backend, op):
    """tfgl tracks no shape for a handle: these ops refuse one rather than answer the variant scalar's
    shape as TensorFlow does (only the identities pass handles through)."""
    impl = engine.get_backend(backend)
    handle = impl.run("TensorListFromTensor", [to_tensor(np.zeros((3, 2), np.float32)), to_tensor(i32([2]))])[0]
    with pytest.raises(KernelError, match="expected a tensor"):
        impl.run(op, [handle], {"shape": None} if op == "EnsureShape" else None)


# -- EnsureShape --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "string"])
@pytest.mark.parametrize("shape,expected", [((2, 3), [2, 3]), ((2, 3), [-1, 3]), ((0, 4), [-1, -1]), ((), []),
                                            ((2, 3), None)], ids=str)
def test_ensure_shape(backend, rng, dtype, shape, expected):
    check(backend, "EnsureShape", [rand(rng, shape, dtype, specials=True)], {"shape": expected})


@pytest.mark.parametrize("expected", [[3, 2], [2], [2, 3, 1], [], [0, 3]], ids=str)
def test_ensure_shape_rejects_what_tensorflow_rejects(backend, rng, expected):
    x = rand(rng, (2, 3))
    with pytest.raises(tf().errors.InvalidArgumentError):
        run_tf("EnsureShape", [x], {"shape": expected})
    assert_rejects(backend, "EnsureShape", [x], {"shape": expected}, match="not compatible")


# -- NoOp and Print -----------------------------------------------------------------------------------

def test_no_op_has_no_outputs(backend):
    from tensorflow.python.framework import op_def_registry
    assert not op_def_registry.get("NoOp").output_arg, "TensorFlow's NoOp has outputs"
    assert run_engine(backend, "NoOp", []) == []


@pytest.mark.parametrize("summarize", [1, 3, 100])
def test_print_passes_its_input_through_and_prints_the_data(backend, rng, capsys, summarize):
    """The output is the input, as in TensorFlow; what goes to stderr is TF.js's format (the message,
    then each data tensor's first `summarize` values), not TensorFlow's."""
    x, data = rand(rng, (2, 3), specials=True), [rand(rng, (2, 4), "int32"), rand(rng, (0,))]
    capsys.readouterr()
    check(backend, "Print", [x, *data], {"message": "values:", "summarize": summarize})
    printed = capsys.readouterr().err.splitlines()
    heads = [str(d.reshape(-1)[:summarize].tolist()) for d in data]
    assert " ".join(["values:", *heads]) in printed


# -- values stay on the GPU -------------------------------------------------------------------------

VALUE_BLIND_CALLS = [("Identity", [], None), ("Snapshot", [], None), ("StopGradient", [], None),
                     ("PreventGradient", [], None), ("PlaceholderWithDefault", [], {"shape": [2, 3]}),
                     ("IdentityN", [], None), ("Shape", [], None), ("ShapeN", [], None), ("Size", [], None),
                     ("Rank", [], None), ("EnsureShape", [], {"shape": [2, -1]}), ("Print", [], {"message": "x"}),
                     ("Reshape", [i32([3, 2])], None), ("Squeeze", [], None), ("ExpandDims", [i32(1)], None)]


@pytest.mark.parametrize("op,extra_inputs,attrs", VALUE_BLIND_CALLS, ids=[call[0] for call in VALUE_BLIND_CALLS])
def test_gpu_values_are_never_downloaded(webgl, op, extra_inputs, attrs):
    """A tensor that exists only as a texture stays that way: reading it back would stall the GPU."""
    impl = engine.get_backend(webgl)
    x = gpu_ints(impl, np.arange(6).reshape(2, 3))
    impl.run(op, [x, *map(to_tensor, extra_inputs)], attrs)
    assert not x.has_values(), f"{op} read its input back from the GPU"


# -- Reshape, Squeeze, ExpandDims ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "string", "complex64"])
@pytest.mark.parametrize("shape,target", [((2, 3, 4), [6, 4]), ((2, 3, 4), [-1, 2]), ((2, 3, 4), [4, -1, 3]),
                                          ((6,), [1, 6, 1]), ((), [1, 1]), ((1,), []), ((0, 3), [-1, 3]),
                                          ((0, 3), [3, 0, 5]), ((0,), [-1, 0]), ((2, 0), [-1, 0]),
                                          ((0, 4), [-1, 0, 2])], ids=str)
def test_reshape(backend, rng, dtype, shape, target):
    check(backend, "Reshape", [rand(rng, shape, dtype, specials=True), i32(target)])


@pytest.mark.parametrize("target", [[5, 5], [-1, -1], [-1, 5], [-2, 12], [-1, 0]])
def test_reshape_rejects(backend, rng, target):
    assert_rejects(backend, "Reshape", [rand(rng, (4, 6)), i32(target)], match="Reshape")


@pytest.mark.parametrize("shape,axes", [((1, 3, 1, 2), []), ((1, 3, 1, 2), [0]), ((1, 3, 1, 2), [-2]),
                                        ((1, 3, 1, 2), [0, 2]), ((1, 1), [-1, -2]), ((1,), []), ((0, 1), [1])], ids=str)
def test_squeeze(backend, rng, shape, axes):
    # The OpDef attr is squeeze_dims; raw_ops calls it axis.
    check(backend, "Squeeze", [rand(rng, shape, specials=True)], {"squeeze_dims": axes, "axis": axes})


def test_squeeze_rejects_non_unit_axis(backend, rng):
    assert_rejects(backend, "Squeeze", [rand(rng, (1, 3))], {"squeeze_dims": [1]}, match="not 1")


@pytest.mark.parametrize("dtype", ["float32", "string"])
@pytest.mark.parametrize("shape,axis", [((2, 3), 0), ((2, 3), 2), ((2, 3), -1), ((2, 3), -3), ((), 0), ((), -1),
                                        ((0, 2), 1)], ids=str)
def test_expand_dims(backend, rng, dtype, shape, axis):
    x = rand(rng, shape, dtype)
    check(backend, "ExpandDims", [x, i32(axis)])
    check(backend, "ExpandDims", [x, np.asarray([axis], np.int64)])


def test_expand_dims_rejects_axis(backend, rng):
    assert_rejects(backend, "ExpandDims", [rand(rng, (2, 3)), i32(3)], match="axis")
