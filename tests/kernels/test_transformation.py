"""Transformation ops against tf.raw_ops: Cast across dtypes (narrowing, out-of-range floats, Truncate),
padding modes, space/batch/depth moves and broadcasting.

Reshape, Squeeze, ExpandDims and EnsureShape are graph-family kernels (engine/kernels/neutral/graph.py),
tested in test_graph.py."""
import numpy as np
import pytest

from tests.kernels.harness import assert_rejects, check, gpu_ints, i32, rand, tf

pytestmark = pytest.mark.tf


# -- Cast --------------------------------------------------------------------------------------------

def cpu_cast(source: str, target: str) -> bool:
    """Casts the GL kernel deliberately hands to the CPU: float16/bfloat16 targets (mantissa rounding;
    exact for bool sources) and complex targets (no texture form)."""
    return target == "complex64" or (target in ("float16", "bfloat16") and source != "bool")


TARGETS = ["float32", "float16", "float64", "int32", "int64", "int16", "int8", "uint8", "uint16", "uint32", "uint64",
           "bool", "complex64"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", ["float32", "int32", "int64", "uint8", "int8", "int16", "float16", "bool",
                                    "complex64"])
def test_cast_in_range(backend, rng, source, target):
    """Values every target can hold (sources like uint8 reach tfgl stored as int32)."""
    low, high = (0, 100) if source.startswith("uint") or target.startswith("uint") else (-100, 100)
    x = rand(rng, (4, 7), source, low, high)
    if source == "float32":
        x.flat[:6] = [0.5, -0.5, 2.999, -2.999, 0.0, -0.0] if low < 0 else [0.5, 0.0, 2.999, 99.9, 1.5, 7.25]
    check(backend, "Cast", [x], {"DstT": target}, allow_fallback=cpu_cast(source, target))


@pytest.mark.parametrize("target", TARGETS)
def test_cast_float_specials_and_out_of_range(backend, target):
    """NaN, infinities and values beyond the target's range. Tiled to a whole number of SIMD packets, as
    TensorFlow's scalar tail path converts out-of-range values differently from its vectorized path."""
    specials = np.float32([np.nan, np.inf, -np.inf, 1e10, -1e10, 1e19, -1e19, 2**31, -2**31, -2**31 - 1000, 3e9,
                           -3.7, -1, -0.5, 127.9, 128, -128.5, -129, 255.5, 256, 300, 32767.5, 32768, -32769,
                           65504.1, 65519, 65520, 65535.9, 65536, 70000, 1e-8, 7e-8])
    check(backend, "Cast", [np.tile(specials, 32)], {"DstT": target}, allow_fallback=cpu_cast("float32", target))


@pytest.mark.parametrize("source", ["int32", "int64"])
@pytest.mark.parametrize("target", ["int8", "uint8", "int16", "uint16", "uint32", "float16", "bool"])
def test_cast_integers_wrap(backend, rng, source, target):
    # GL textures hold int32 values as floats, exact up to 2**24 (as in TF.js): wider ones round on upload.
    limit = 2**24 if backend == "webgl" else 2**31 - 1
    x = np.array([v for v in [-1, 255, 256, 300, -129, 70000, 2**31 - 1, -2**31, 2049, 65519, 2**24, -2**24 + 3]
                  if -limit - 1 <= v <= limit], source)
    check(backend, "Cast", [np.concatenate([x, rand(rng, (50,), source, -limit - 1, limit)])], {"DstT": target},
          allow_fallback=cpu_cast(source, target))


@pytest.mark.parametrize("target", ["float16", "bfloat16"])
@pytest.mark.parametrize("truncate", [False, True])
def test_cast_narrow_float_rounding(backend, rng, target, truncate):
    """Truncate drops mantissa bits where the default rounds to nearest even."""
    x = np.concatenate([np.float32([1.0009766, 1.0014648, 1.00146484375, 3.14159, 3.999, -3.999, 65519, 65520,
                                    7e-8, np.nan, np.inf, -np.inf, 1e20, -0.0]),
                        rand(rng, (64,), low=-1e4, high=1e4), rand(rng, (64,), low=-1e-3, high=1e-3)])
    attrs = {"DstT": target, "Truncate": truncate}
    # bfloat16 has no numpy dtype for the harness to store: compare through float32.
    reference = (lambda v: tf().cast(tf().raw_ops.Cast(x=v, DstT=tf().bfloat16, Truncate=truncate), tf().float32)) \
        if target == "bfloat16" else None
    check(backend, "Cast", [x], attrs, reference=reference, rtol=0, atol=0, allow_fallback=True)


@pytest.mark.parametrize("target", ["float32", "int32", "uint8", "bool"])
def test_cast_complex_uses_real_part(backend, target):
    x = np.complex64([1.5 + 2j, 0j, 1j, 3.7 - 1j, 255.9 + 0j, np.nan + 1j] * 32)
    check(backend, "Cast", [x], {"DstT": target})  # complex data never is on the GPU: the CPU kernel runs


def test_cast_empty_and_scalar(backend, rng):
    check(backend, "Cast", [np.zeros((0, 3), np.float32)], {"DstT": "int32"})
    check(backend, "Cast", [np.float32(2.5)], {"DstT": "uint8"})
    check(backend, "Cast", [np.int32(7)], {"DstT": "bool"})


def test_cast_strings(backend):
    words = np.array([b"a", b"", b"tf"], dtype=object)
    check(backend, "Cast", [words], {"DstT": "string"})
    assert_rejects(backend, "Cast", [words], {"DstT": "float32"}, match="string to float32")
    assert_rejects(backend, "Cast", [np.int32([1, 2])], {"DstT": "string"}, match="not supported")


# -- padding -----------------------------------------------------------------------------------------

PADDINGS = [((3, 4), [[1, 2], [0, 3]]), ((2, 3, 4), [[0, 0], [2, 1], [1, 1]]), ((5,), [[0, 0]]), ((), []),
            ((0, 3), [[1, 1], [2, 0]]), ((1, 2, 2, 3), [[0, 0], [1, 1], [1, 1], [0, 0]])]


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "string"])
@pytest.mark.parametrize("shape,paddings", PADDINGS, ids=str)
def test_pad(backend, rng, dtype, shape, paddings):
    x = rand(rng, shape, dtype, specials=True)
    pads = np.asarray(paddings, np.int32).reshape(len(shape), 2)
    check(backend, "Pad", [x, pads])
    check(backend, "Pad", [x, pads.astype(np.int64)])


@pytest.mark.parametrize("dtype,value", [("float32", np.float32(-7.5)), ("float32", np.float32(np.nan)),
                                         ("int32", np.int32(9)), ("bool", np.bool_(True)),
                                         ("string", np.array(b"pad", dtype=object))])
@pytest.mark.parametrize("shape,paddings", PADDINGS[:3], ids=str)
def test_pad_v2(backend, rng, dtype, value, shape, paddings):
    x = rand(rng, shape, dtype, specials=True)
    check(backend, "PadV2", [x, i32(paddings).reshape(len(shape), 2), value])


def test_pad_rejects_negative(backend, rng):
    assert_rejects(backend, "Pad", [rand(rng, (2, 3)), i32([[0, 0], [-1, 0]])], match="non-negative")


@pytest.mark.parametrize("dtype", ["float32", "int32", "string"])
@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("shape,paddings", [((3, 4), [[1, 2], [3, 0]]), ((2, 3, 4), [[1, 1], [2, 2], [0, 3]]),
                                            ((5,), [[4, 4]]), ((1, 3, 3, 2), [[0, 0], [2, 2], [1, 2], [0, 0]])],
                         ids=str)
def test_mirror_pad(backend, rng, dtype, mode, shape, paddings):
    pads = i32(paddings)
    if mode == "REFLECT":
        pads = np.minimum(pads, np.array(shape)[:, None] - 1)
    check(backend, "MirrorPad", [rand(rng, shape, dtype, specials=True), pads], {"mode": mode})


@pytest.mark.parametrize("mode,pads", [("REFLECT", [[3, 0]]), ("SYMMETRIC", [[0, 4]]), ("REFLECT", [[-1, 0]])])
def test_mirror_pad_rejects_large_paddings(backend, rng, mode, pads):
    assert_rejects(backend, "MirrorPad", [rand(rng, (3,)), i32(pads)], {"mode": mode}, match="MirrorPad")


# -- space <-> batch / depth -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("shape,block,pads", [
    ((1, 4, 4, 1), [2, 2], [[0, 0], [0, 0]]), ((2, 5, 3, 3), [2, 3], [[1, 0], [2, 1]]), ((3, 6, 2), [3], [[0, 0]]),
    ((2, 4, 3), [2], [[1, 1]]), ((2, 2, 4, 6, 2), [2, 2, 3], [[0, 0], [1, 1], [0, 0]]),
    ((0, 4, 4, 1), [2, 2], [[0, 0]] * 2),
    ((2, 3, 4), [], np.zeros((0, 2))),
], ids=str)
def test_space_to_batch_and_back(backend, rng, dtype, shape, block, pads):
    x = rand(rng, shape, dtype, specials=True)
    block, pads = i32(block), i32(pads).reshape(len(block), 2)
    batched = check(backend, "SpaceToBatchND", [x, block, pads])[0]
    check(backend, "BatchToSpaceND", [batched, block, pads])
    check(backend, "BatchToSpaceND", [batched, block.astype(np.int64), np.zeros_like(pads, np.int64)])


@pytest.mark.parametrize("op,inputs,match", [
    ("SpaceToBatchND", [np.zeros((1, 5, 4, 1), np.float32), i32([2, 2]), i32([[0, 0], [0, 0]])], "divisible"),
    ("BatchToSpaceND", [np.zeros((3, 2, 2, 1), np.float32), i32([2, 2]), i32([[0, 0], [0, 0]])], "divisible"),
    ("BatchToSpaceND", [np.zeros((4, 2, 2, 1), np.float32), i32([2, 2]), i32([[3, 2], [0, 0]])], "crops"),
])
def test_space_batch_rejects(backend, op, inputs, match):
    assert_rejects(backend, op, inputs, match=match)


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
@pytest.mark.parametrize("shape,block", [((1, 2, 3, 8), 2), ((2, 3, 2, 18), 3), ((1, 1, 1, 4), 2), ((0, 2, 2, 4), 2)],
                         ids=str)
def test_depth_to_space_and_back(backend, rng, dtype, shape, block):
    x = rand(rng, shape, dtype, specials=True)
    spread = check(backend, "DepthToSpace", [x], {"block_size": block, "data_format": "NHWC"})[0]
    check(backend, "SpaceToDepth", [spread], {"block_size": block, "data_format": "NHWC"})


@pytest.mark.parametrize("op,shape", [("DepthToSpace", (2, 12, 3, 2)), ("SpaceToDepth", (2, 3, 4, 6))])
def test_depth_space_nchw(backend, rng, op, shape):
    """TensorFlow's CPU kernels only take NHWC: the reference transposes around them."""
    def reference(x):
        nhwc = getattr(tf().raw_ops, op)(input=np.transpose(x, (0, 2, 3, 1)), block_size=2, data_format="NHWC")
        return np.transpose(nhwc.numpy(), (0, 3, 1, 2))
    check(backend, op, [rand(rng, shape)], {"block_size": 2, "data_format": "NCHW"}, reference=reference)


@pytest.mark.parametrize("op,shape", [("DepthToSpace", (1, 2, 2, 6)), ("SpaceToDepth", (1, 3, 4, 1))])
def test_depth_space_rejects_indivisible(backend, op, shape):
    assert_rejects(backend, op, [np.zeros(shape, np.float32)], {"block_size": 2}, match="divisible")


# -- broadcasting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int32", "bool", "string"])
@pytest.mark.parametrize("shape,target", [((3,), [2, 3]), ((2, 1), [2, 5]), ((), [3, 2]), ((1, 3, 1), [4, 3, 2]),
                                          ((1,), [0]), ((2, 3), [2, 3]), ((3, 1), [2, 1, 3, 4])], ids=str)
def test_broadcast_to(backend, rng, dtype, shape, target):
    x = rand(rng, shape, dtype, specials=True)
    check(backend, "BroadcastTo", [x, i32(target)])
    check(backend, "BroadcastTo", [x, np.asarray(target, np.int64)])


def test_broadcast_to_rejects(backend, rng):
    assert_rejects(backend, "BroadcastTo", [rand(rng, (3,)), i32([2, 4])])


@pytest.mark.parametrize("s0,s1", [([2, 1, 3], [4, 1]), ([1], [5]), ([], [3, 2]), ([0, 1], [3]), ([7], [7])], ids=str)
def test_broadcast_args(backend, s0, s1):
    check(backend, "BroadcastArgs", [i32(s0), i32(s1)])
    check(backend, "BroadcastArgs", [np.asarray(s0, np.int64), np.asarray(s1, np.int64)])


def test_broadcast_args_rejects(backend):
    assert_rejects(backend, "BroadcastArgs", [i32([2, 2]), i32([3])])


# -- WebGL concerns: squarified textures, odd sizes, rank 5/6, NaN/Inf, int32/bool data -----------------

BIG = 16384 + 1617  # longer than one texture row, so the texture holding it is squarified
GL_DTYPES = ["float32", "int32", "bool"]


def test_cast_wide_and_high_rank(backend, rng):
    x = rand(rng, (16384 + 1632,), low=-300, high=300, specials=True)  # whole SIMD packets, as above
    for target in ("int32", "uint8", "int64", "bool"):
        check(backend, "Cast", [x], {"DstT": target})
    ints = rand(rng, (2, 1, 3, 1, 2, 1, 3), "int32", -1000, 1000)  # rank 7: elementwise casts run flat
    for target in ("float32", "int8", "uint16", "bool"):
        check(backend, "Cast", [ints], {"DstT": target})
    check(backend, "Cast", [rand(rng, (3, 5, 7), "bool")], {"DstT": "float32"})


@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_pad_wide_and_rank6(backend, rng, dtype):
    value = {"float32": np.float32(np.inf), "int32": np.int32(-4), "bool": np.bool_(True)}[dtype]
    check(backend, "PadV2", [rand(rng, (2, BIG), dtype, specials=True), i32([[1, 0], [3, 2]]), value])
    x = rand(rng, (1, 2, 1, 3, 2, 3), dtype, specials=True)
    pads = i32([[0, 1], [2, 0], [1, 1], [0, 0], [1, 2], [3, 1]])
    check(backend, "Pad", [x, pads])
    check(backend, "PadV2", [x, pads, value])
    check(backend, "MirrorPad", [rand(rng, (BIG,), dtype, specials=True), i32([[5, 7]])], {"mode": "REFLECT"})
    check(backend, "MirrorPad", [rand(rng, (2, 3, 1, 3, 5), dtype, specials=True),
                                 i32([[1, 2], [2, 0], [1, 1], [0, 3], [4, 4]])], {"mode": "SYMMETRIC"})


@pytest.mark.parametrize("dtype", ["float32", "int32"])  # TensorFlow has no bool SpaceToBatchND
def test_space_batch_depth_rank6_and_odd(backend, rng, dtype):
    x = rand(rng, (2, 4, 3, 5, 3, 2), dtype, specials=True)
    block, pads = i32([2, 1, 3]), i32([[1, 1], [0, 0], [2, 2]])
    batched = check(backend, "SpaceToBatchND", [x, block, pads])[0]
    assert batched.shape == (12, 3, 3, 3, 3, 2)
    check(backend, "BatchToSpaceND", [batched, block, i32([[0, 1], [1, 0], [2, 3]])])
    x = rand(rng, (1, 3, 5, 12), dtype, specials=True)
    spread = check(backend, "DepthToSpace", [x], {"block_size": 2})[0]
    check(backend, "SpaceToDepth", [spread], {"block_size": 2})


@pytest.mark.parametrize("dtype", GL_DTYPES)
def test_broadcast_to_wide_and_rank6(backend, rng, dtype):
    check(backend, "BroadcastTo", [rand(rng, (1, 7), dtype, specials=True), i32([3000, 7])])
    check(backend, "BroadcastTo", [rand(rng, (3, 1), dtype, specials=True), i32([2, 1, 2, 1, 3, 4])])
    check(backend, "BroadcastTo", [rand(rng, (2, 1, 3, 1, 1), dtype, specials=True), i32([2, 2, 3, 5, 2])])


def test_broadcast_args_gpu_resident(webgl):
    """Shapes made on the GPU are not read back to be checked: an incompatible pair gives s1's dimension."""
    import engine
    from tests.kernels.harness import to_tensor
    impl = engine.get_backend("webgl")
    before = impl.stats.cpu_fallbacks.get("BroadcastArgs", 0)
    got = impl.run("BroadcastArgs", [gpu_ints(impl, [2, 1, 3]), gpu_ints(impl, [4, 1])])[0].numpy()
    np.testing.assert_array_equal(got, i32([2, 4, 3]))
    got = impl.run("BroadcastArgs", [to_tensor(i32([5, 1, 1, 0])), gpu_ints(impl, [1, 6, 1, 1])])[0].numpy()
    np.testing.assert_array_equal(got, i32([5, 6, 1, 0]))
    got = impl.run("BroadcastArgs", [gpu_ints(impl, [2, 2]), gpu_ints(impl, [3])])[0].numpy()
    np.testing.assert_array_equal(got, i32([2, 3]))
    assert impl.stats.cpu_fallbacks.get("BroadcastArgs", 0) == before
