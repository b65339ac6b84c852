"""Shape-generic programs: shapes of one structure share a compiled program and give the CPU's
results, replayed plans included; by default only the families that opt in (Program.shape_uniforms)
are generic, and TFGL_SHAPE_UNIFORMS=1 / 0 makes every program generic / per-shape. Packed products
and depthwise convolutions of any sizes share a program by default, but short products."""

import numpy as np
import pytest

import engine
from engine.backends import get_backend, webgl
from engine.kernels.conv_util import conv_info
from engine.kernels.webgl import packed
from engine.tensors import Tensor, alias
from engine.webgl import shape_uniforms
from engine.webgl.compiler import Layout
from tests.conftest import fixture_path, on_a_thread_of_its_own

pytestmark = pytest.mark.webgl


def in_new_backend(monkeypatch, setting: str | None, fn):
    """fn(backend) on a fresh thread's backend made with TFGL_SHAPE_UNIFORMS=setting (None: unset)."""
    if setting is None:
        monkeypatch.delenv("TFGL_SHAPE_UNIFORMS", raising=False)
    else:
        monkeypatch.setenv("TFGL_SHAPE_UNIFORMS", setting)
    return on_a_thread_of_its_own(lambda: fn(webgl.backend_for_thread()))


def programs_named(backend, name: str) -> int:
    return sum(1 for key in backend.programs.compiled if key[0][0] == name)


RNG = np.random.default_rng(11)


def run_ops(backend, calls) -> list[list[np.ndarray]]:
    """The outputs of each (op, numpy inputs, attrs) of `calls` run on `backend`, a GL one's inputs
    uploaded first (small CPU inputs would run on the CPU)."""
    outputs = []
    with backend.session():
        for op, inputs, attrs in calls:
            tensors = [Tensor(x, "int32" if x.dtype == np.int32 else "bool" if x.dtype == bool else "float32")
                       for x in inputs]
            if backend.name == "webgl":
                for t in tensors:
                    backend.texture_of(t)
            outputs.append([t.numpy() for t in backend.run(op, tensors, attrs)])
    return outputs


def products_and_depthwise(backend, products=((6, 10, 4), (10, 7, 6)), images=((6, 4), (10, 4))):
    """Packed matmuls (m, k, n) and 3x3 'SAME' depthwise convolutions (size, channels), checked against
    numpy."""
    rng = np.random.default_rng(0)
    for m, k, n in products:
        a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
        with backend.current():
            out = packed.matmul(backend, Tensor(a, "float32"), Tensor(b, "float32"), False, False, None, (m, n))
        np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-5)
    for size, channels in images:
        x, f = rng.random((1, size, size, channels), np.float32), rng.random((3, 3, channels, 1), np.float32)
        info = conv_info(x.shape, f.shape, strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC", depthwise=True)
        with backend.current():
            out = packed.depthwise(backend, Tensor(x, "float32"), Tensor(f, "float32"), info, None)
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        expected = sum(padded[:, i:i + size, j:j + size, :] * f[i, j, :, 0] for i in range(3) for j in range(3))
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    return programs_named(backend, "matmul_packed"), programs_named(backend, "depthwise_packed")


def max_pools(backend):
    """Programs of two 3x3 max pools of one structure, checked against the CPU backend."""
    calls = [("MaxPool", [RNG.standard_normal((1, size, size, 3), np.float32)],
              {"ksize": [1, 3, 3, 1], "strides": [1, 2, 2, 1], "padding": "SAME"}) for size in (6, 9)]
    for out, expected in zip(run_ops(backend, calls), run_ops(get_backend("cpu"), calls)):
        np.testing.assert_array_equal(out[0], expected[0])
    return programs_named(backend, "pool")


def test_two_shapes_share_one_program_with_shape_uniforms(monkeypatch):
    assert in_new_backend(monkeypatch, "1", products_and_depthwise) == (1, 1)


def test_by_default_only_short_products_keep_their_shared_dim_constant(monkeypatch):
    """By default products past 16 shared values share a program whatever their sizes (odd or even,
    A of the output's shape or not), and depthwise convolutions whatever their image size; shorter
    products keep a program per shared dim in texels (their constant_sizes)."""
    def run(backend):
        shared = products_and_depthwise(backend, ((6, 40, 4), (12, 17, 6), (5, 99, 3), (6, 20, 20)),
                                        ((6, 4), (9, 8), (11, 6), (10, 4)))
        return shared, products_and_depthwise(backend, ((6, 10, 4), (10, 7, 6), (9, 8, 5)), ())
    assert in_new_backend(monkeypatch, None, run) == ((1, 1), (3, 1))


def test_per_shape_programs_when_forced_off(monkeypatch):
    assert in_new_backend(monkeypatch, "0", products_and_depthwise) == (2, 2)


@pytest.mark.parametrize("setting, programs", [("1", 1), (None, 2), ("0", 2)])
def test_families_that_do_not_opt_in_stay_per_shape_by_default(monkeypatch, setting, programs):
    """Pools: shape-generic ones cost llvmpipe 2-4x per draw."""
    assert in_new_backend(monkeypatch, setting, max_pools) == programs


@pytest.mark.parametrize("setting, most_programs", [("1", 12), (None, 15)])
def test_replayed_mobilenet_matches_the_cpu_with_shape_uniforms(monkeypatch, rng, setting, most_programs):
    path = fixture_path("mobilenet_v2")
    cpu = engine.load_graph_model(path, backend="cpu")
    shape = tuple(1 if d is None else d for d in cpu.inputs[0].shape)
    inputs = [rng.random(shape, np.float32) for _ in range(4)]

    def run(backend):
        model = engine.load_graph_model(path, backend="webgl")
        outputs = [model.predict(x) for x in inputs]
        assert model.replays.last is not None
        return outputs, len(backend.programs.compiled)

    outputs, programs = in_new_backend(monkeypatch, setting, run)
    for x, out in zip(inputs, outputs):
        np.testing.assert_allclose(out, cpu.predict(x), rtol=1e-4, atol=1e-5)
    assert programs <= most_programs


def test_replays_sharing_a_program_set_its_uniforms_again(monkeypatch):
    """A replay skips uniforms its program still holds from its previous call; one whose program
    another replay, or an op, drew with other shapes since sets them again."""
    rng = np.random.default_rng(2)
    b1, b2 = rng.random((2, 10, 4), np.float32), rng.random((2, 10, 6), np.float32)

    def product(backend, b):
        def run(feeds):
            a = feeds["a"]
            return [packed.matmul(backend, a, Tensor(b, "float32"), False, False, None, a.shape[:2] + b.shape[2:])]
        return run

    def run(backend):  # batched: a stale texel rows per matrix reads another batch of b
        a1, a2 = rng.random((2, 6, 10), np.float32), rng.random((2, 4, 10), np.float32)
        with backend.current():
            _, first = backend.record(product(backend, b1), {"a": Tensor(a1, "float32")})
            _, second = backend.record(product(backend, b2), {"a": Tensor(a2, "float32")})
            for _ in range(2):
                for replay, a, b in ((first, a1, b1), (first, a1, b1), (second, a2, b2)):
                    np.testing.assert_allclose(replay.run({"a": a})[0], a @ b, rtol=1e-5, atol=1e-5)
            packed.matmul(backend, Tensor(a2, "float32"), Tensor(b2, "float32"), False, False, None, (2, 4, 6))
            np.testing.assert_allclose(first.run({"a": a1})[0], a1 @ b1, rtol=1e-5, atol=1e-5)
        return programs_named(backend, "matmul_packed")
    assert in_new_backend(monkeypatch, None, run) == 1


def floats(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def ints(*shape, high: int = 50) -> np.ndarray:
    return RNG.integers(-high, high, shape).astype(np.int32)


def axis(value: int) -> np.ndarray:
    return np.array(value, np.int32)


HALF_PIXEL = {"half_pixel_centers": True}
# Per program name, ops of several shapes (odd sizes, ranks, dtypes) that share it by default.
SHARING = {
    "arithmetic/add.glsl": [  # without a broadcast any rank views as one dim; int32 adds as floats do
        ("AddV2", [floats(7), floats(7)], {}), ("AddV2", [floats(3, 5), floats(3, 5)], {}),
        ("AddV2", [ints(2, 3, 5), ints(2, 3, 5)], {}), ("AddV2", [floats(2, 1, 3, 5), floats(2, 1, 3, 5)], {}),
        ("AddV2", [floats(1, 2, 3, 1, 1, 5), floats(1, 2, 3, 1, 1, 5)], {}),
        ("AddV2", [floats(2, 1, 3, 1, 2, 3), floats(2, 1, 3, 1, 2, 3)], {})],
    "arithmetic/mul.glsl": [  # a scalar operand either side (Mul commutes)
        ("Mul", [floats(5, 7), floats()], {}), ("Mul", [floats(1, 1), floats(3, 1, 9)], {}),
        ("Mul", [ints(), ints(4, 3)], {})],
    "basic_math/sigmoid.glsl": [("Sigmoid", [floats(9)], {}), ("Sigmoid", [floats(2, 3, 7)], {})],
    "transformation/cast.glsl": [("Cast", [floats(5, 3) * 9], {"DstT": "int32"}),
                                 ("Cast", [floats(1, 11) * 9], {"DstT": "int32"})],
    "logical/select.glsl": [("SelectV2", [floats(4, 6) > 0, floats(4, 6), floats(4, 6)], {}),
                            ("SelectV2", [floats(13) > 0, floats(13), floats(13)], {})],
    "concat": [("ConcatV2", [floats(3, 5), floats(3, 4), axis(1)], {}),
               ("ConcatV2", [ints(6, 2), ints(6, 7), axis(-1)], {}),
               ("ConcatV2", [floats(1, 13), floats(1, 3), axis(1)], {})],
    "gather": [("GatherV2", [floats(5, 7), np.array([4, 0, 2, 4], np.int32), axis(0)], {}),  # edge indices
               ("GatherV2", [ints(9, 12), np.array([0, 8, 3, 3], np.int32), axis(0)], {}),
               ("GatherV2", [floats(1, 6, 3), np.array([[5, 0, 1]], np.int32), axis(1)], {"batch_dims": 1})],
    "gather_nd": [  # index tuples of 1 to 6 components
        ("GatherNd", [floats(4, 5, 3), np.array([[3, 4], [0, 0]], np.int32)], {}),
        ("GatherNd", [ints(6, 3, 2, 2), np.array([[5, 2, 1], [1, 0, 0], [0, 2, 1]], np.int32)], {}),
        ("GatherNd", [floats(7, 3), np.array([[6], [0], [6]], np.int32)], {}),
        ("GatherNd", [floats(2, 3, 2, 2, 3, 2, 4), np.array([[1, 2, 1, 0, 2, 1], [0, 0, 0, 1, 1, 1]], np.int32)], {})],
    # Rows of one length (a window's trip count stays a constant), however laid out.
    "arg_reduce": [("ArgMax", [floats(3, 50), axis(1)], {}), ("ArgMax", [floats(1, 50), axis(-1)], {}),
                   ("ArgMax", [floats(2, 6, 50), axis(2)], {})],
    "reduce": [("Sum", [floats(3, 50), axis(1)], {}), ("Sum", [ints(7, 50), axis(1)], {}),
               ("Sum", [floats(2, 5, 50), axis(-1)], {})],
    "softmax": [("Softmax", [floats(3, 10)], {}), ("Softmax", [floats(1, 5, 17)], {})],
    "search_sorted": [("LowerBound", [np.sort(floats(3, 50)), floats(3, 7)], {}),  # any row length
                      ("LowerBound", [np.sort(ints(2, 9)), ints(2, 4)], {})],
    "transpose": [("Transpose", [floats(3, 5), np.array([1, 0], np.int32)], {}),
                  ("Transpose", [ints(1, 4, 7), np.array([0, 2, 1], np.int32)], {})],
    "ResizeBilinear": [("ResizeBilinear", [floats(1, 3, 4, 2), np.array([6, 8], np.int32)], HALF_PIXEL),
                       ("ResizeBilinear", [floats(1, 5, 5, 3), np.array([7, 9], np.int32)], HALF_PIXEL)],
    "slice_join/strided.glsl": [  # of one-row textures (others divide: a program per shape)
        ("StridedSlice", [floats(80), np.array([1], np.int32), np.array([79], np.int32), np.array([2], np.int32)], {}),
        ("StridedSlice", [ints(1, 72), np.array([0, -1], np.int32), np.array([1, 0], np.int32),
                          np.array([1, -3], np.int32)], {"end_mask": 2})],
}


@pytest.mark.parametrize("name", SHARING)
def test_a_family_shares_one_program_by_default_and_matches_the_cpu(monkeypatch, name):
    """Shapes of one structure share a program by default, give the CPU backend's values, and the
    same bits as programs per shape."""
    calls = SHARING[name]

    def run(backend):
        return run_ops(backend, calls), programs_named(backend, name), dict(backend.stats.cpu_fallbacks)

    outputs, programs, fallbacks = in_new_backend(monkeypatch, None, run)
    assert (programs, fallbacks) == (1, {})
    per_shape, _, _ = in_new_backend(monkeypatch, "0", run)
    for out, same, expected in zip(outputs, per_shape, run_ops(get_backend("cpu"), calls)):
        np.testing.assert_array_equal(out[0], same[0])
        np.testing.assert_allclose(out[0], expected[0], rtol=1e-6, atol=1e-6)


def test_tiny_inputs_share_one_program_whatever_their_textures(monkeypatch):
    """A detector's tail concatenates a few values laid out in one-row, one-column and square
    textures: at a few thousand values each read may divide, and they all share one program."""
    column, row = floats(17, 1), floats(1, 17)

    def run(backend):
        outputs = []
        with backend.session():
            for pair in [(column, column), (row.reshape(17), row.reshape(17)), (floats(1, 1), floats(1, 1))]:
                a, b = (Tensor(v, "float32") for v in pair)
                backend.texture_of(a)
                backend.texture_of(b)
                rows = a.shape[0] if a.rank == 2 else 17
                views = [alias(t, (rows, t.size // rows)) for t in (a, b)]
                outputs.append(backend.run("ConcatV2", [*views, Tensor(axis(1), "int32")])[0].numpy())
        return outputs, programs_named(backend, "concat")

    outputs, count = in_new_backend(monkeypatch, None, run)
    assert count == 1
    expected = [np.concatenate([column, column], 1), np.concatenate([row.reshape(17, 1)] * 2, 1)]
    np.testing.assert_array_equal(outputs[0], expected[0])
    np.testing.assert_array_equal(outputs[1], expected[1])
    assert outputs[2].shape == (1, 2)


def test_broadcasts_keep_a_program_per_shape_and_a_result_laid_out_as_its_shape(monkeypatch):
    """A broadcasting elementwise op divides coordinates: per shape by default. Its program runs on
    fewer dims, into the texture the output's own shape gets."""
    calls = [("AddV2", [floats(2, 3, 1, 5), floats(3, 1, 1)], {}), ("AddV2", [floats(4, 1), floats(1, 1, 6)], {}),
             ("SquaredDifference", [ints(1, 9, 1, 1, 1, 2), ints(1, 2)], {})]

    def run(backend):
        with backend.session():
            results = []
            for op, inputs, attrs in calls:
                tensors = [Tensor(x, "int32" if x.dtype == np.int32 else "float32") for x in inputs]
                for t in tensors:
                    backend.texture_of(t)
                results.append(backend.run(op, tensors, attrs)[0])
            layouts = [(backend.gl_data(r).rows, backend.gl_data(r).cols) for r in results]
            expected = [backend._layout(r.shape) for r in results]
            return [r.numpy() for r in results], layouts == expected, programs_named(backend, "arithmetic/add.glsl")

    outputs, natural, programs = in_new_backend(monkeypatch, None, run)
    assert natural and programs == 2
    for out, expected in zip(outputs, run_ops(get_backend("cpu"), calls)):
        np.testing.assert_array_equal(out, expected[0])


def test_elementwise_ops_of_any_rank_run_on_the_gpu(monkeypatch):
    """Without a broadcast an elementwise op views its tensors as one dim: rank 7 needs no CPU."""
    calls = [("Sub", [floats(2, 2, 1, 2, 2, 1, 3), floats(2, 2, 1, 2, 2, 1, 3)], {})]

    def run(backend):
        return run_ops(backend, calls), dict(backend.stats.cpu_fallbacks)

    outputs, fallbacks = in_new_backend(monkeypatch, None, run)
    assert fallbacks == {}
    np.testing.assert_array_equal(outputs[0][0], run_ops(get_backend("cpu"), calls)[0][0])


def test_indices_past_what_float_division_holds_exactly_get_programs_per_shape():
    assert shape_uniforms.exact([Layout((3, 4096), 3, 4096)])
    assert not shape_uniforms.exact([Layout((1 << 24,), 4096, 4096)])
    assert not shape_uniforms.exact([Layout((5,), 4097, 4096)])


@pytest.mark.parametrize("setting, programs", [(None, 2), ("1", 1)])
def test_programs_whose_reads_would_divide_stay_per_shape_by_default(monkeypatch, setting, programs):
    """A concat of views whose rows are not their textures' rows reads them by flat index: a
    division by a uniform per read, so by default a program per shape (past the tiny bound)."""
    sources = [(floats(64, 96), floats(96, 5)), (floats(80, 100), floats(100, 3))]
    assert all(x.size > shape_uniforms.TINY_VALUES for x, _ in sources)

    def run(backend):
        outputs = []
        with backend.session():
            for x, y in sources:
                a, b = Tensor(x, "float32"), Tensor(y, "float32")
                backend.texture_of(a)
                backend.texture_of(b)
                rows = y.shape[0]
                out = backend.run("ConcatV2", [alias(a, (rows, x.size // rows)), b, Tensor(axis(1), "int32")])
                outputs.append(out[0].numpy())
        return outputs, programs_named(backend, "concat")

    outputs, count = in_new_backend(monkeypatch, setting, run)
    assert count == programs
    for (x, y), out in zip(sources, outputs):
        np.testing.assert_array_equal(out, np.concatenate([x.reshape(y.shape[0], -1), y], axis=1))


def gl_and_cpu(backend, op: str, arrays, attrs: dict):
    """`op`'s first output on the GL backend (inputs uploaded first, so that it is not forwarded to the
    CPU) and on the CPU backend."""
    tensors = [Tensor(np.asarray(a, np.float32), "float32") for a in arrays]
    with backend.current():
        for t in tensors:
            backend.texture_of(t, packed=True)
    got = backend.run(op, tensors, attrs)[0].numpy()
    want = get_backend("cpu").run(op, [Tensor(np.asarray(a, np.float32), "float32") for a in arrays],
                                  attrs)[0].numpy()
    return got, want


# Shared dims of 1 to 8 texels (two values each) keep a program per texel count by default, longer
# ones share one: 1, 2, 4 and 8 texels, and the rest.
SHARED_DIMS = (1, 2, 3, 7, 15, 16, 17, 18, 31, 33, 40, 63, 64, 100, 129)


def test_products_of_every_shared_dim_match_the_cpu(monkeypatch):
    """Whatever the remainder of the shared dim past the loop's four texel steps, and odd or even."""
    rng = np.random.default_rng(3)

    def run(backend):
        for i, k in enumerate(SHARED_DIMS):
            m, n = (9, 11) if i % 2 else (8, 10)
            got, want = gl_and_cpu(backend, "MatMul", [rng.normal(size=(m, k)), rng.normal(size=(k, n))], {})
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        return programs_named(backend, "matmul_packed")
    assert in_new_backend(monkeypatch, None, run) == 5


def _fused(fused_ops, **attrs):
    return {"fused_ops": fused_ops, "num_args": 1, **attrs}


# Kinds of products, each op with A's and B's shapes (the extra inputs' after them) of two sizes, and
# attrs: transposed operands, batches of either operand broadcast, ranks 2 to 4, odd and even sizes,
# fused epilogues (bias, residual, activations). Each kind shares a program by default.
PRODUCTS = [
    ("MatMul", ([(40, 9), (40, 11)], [(18, 6), (18, 4)]), {"transpose_a": True}),
    ("MatMul", ([(9, 37), (11, 37)], [(4, 20), (6, 20)]), {"transpose_b": True}),
    ("MatMul", ([(23, 9), (11, 23)], [(64, 4), (3, 64)]), {"transpose_a": True, "transpose_b": True}),
    ("BatchMatMulV2", ([(3, 9, 40), (40, 10)], [(2, 4, 17), (17, 5)]), {}),
    ("BatchMatMulV2", ([(1, 9, 33), (3, 33, 7)], [(1, 6, 20), (2, 20, 8)]), {}),
    ("BatchMatMulV2", ([(2, 3, 6, 35), (2, 3, 35, 5)], [(3, 2, 7, 18), (3, 2, 18, 6)]), {}),
    ("BatchMatMulV2", ([(2, 40, 9), (2, 11, 40)], [(3, 21, 6), (3, 4, 21)]), {"adj_x": True, "adj_y": True}),
    ("_FusedMatMul", ([(9, 50), (50, 11), (11,)], [(6, 19), (19, 8), (8,)]), _fused(["BiasAdd", "Relu6"])),
    ("_FusedMatMul", ([(8, 21), (21, 10), (10,)], [(13, 30), (30, 3), (3,)]), _fused(["BiasAdd", "Sigmoid"])),
    ("_FusedMatMul", ([(50, 9), (11, 50), (11,), (9, 11)], [(20, 4), (6, 20), (6,), (4, 6)]),
     {"fused_ops": ["BiasAdd", "Add", "Relu"], "num_args": 2, "transpose_a": True, "transpose_b": True}),
]


def test_generic_products_match_the_cpu(monkeypatch):
    """Every kind of packed product gives the CPU's values, and one program serves each kind."""
    rng = np.random.default_rng(4)

    def run(backend):
        for op, sizes, attrs in PRODUCTS:
            for shapes in sizes:
                got, want = gl_and_cpu(backend, op, [rng.normal(size=s) for s in shapes], attrs)
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{op} {shapes} {attrs}")
        return programs_named(backend, "matmul_packed")
    assert in_new_backend(monkeypatch, None, run) == len(PRODUCTS)


# Input shape, filter size, strides, padding, dilation, fused ops, in groups that share a program by
# default (one window: sizes, strides, dilations, pads; one epilogue; batches of 1 or more): 8.
DEPTHWISE = [
    ((1, 9, 7, 6), 3, 1, "SAME", 1, ()),  # pads 1
    ((1, 12, 10, 6), 3, 1, "SAME", 1, ()),
    ((1, 5, 11, 4), 3, 1, "SAME", 1, ()),
    ((1, 10, 10, 4), 3, 2, "SAME", 1, ()),  # pads 0
    ((1, 10, 9, 6), 3, 2, "VALID", 1, ()),
    ((1, 13, 8, 6), 3, 2, "VALID", 1, ()),
    ((1, 11, 13, 4), 3, 2, "SAME", 1, ()),  # pads 1
    ((1, 7, 9, 2), 3, 2, "SAME", 1, ()),
    ((1, 9, 9, 4), 3, 1, "SAME", 2, ()),
    ((1, 8, 12, 4), 3, 1, "VALID", 2, ()),
    ((2, 7, 5, 6), 5, 1, "SAME", 1, ("BiasAdd", "Relu6")),
    ((2, 9, 10, 6), 5, 1, "SAME", 1, ("BiasAdd", "Relu6")),
    ((1, 14, 15, 8), 5, 1, "SAME", 1, ("BiasAdd", "Relu6")),
    ((1, 6, 5, 8), 5, 1, "SAME", 1, ("BiasAdd", "Relu6")),
    ((1, 15, 15, 6), 5, 2, "SAME", 1, ("BiasAdd", "Relu")),
]


def test_generic_depthwise_convolutions_match_the_cpu(monkeypatch):
    """Packed depthwise convolutions of every image size give the CPU's values, a program per group."""
    rng = np.random.default_rng(5)

    def run(backend):
        for shape, size, stride, padding, dilation, fused_ops in DEPTHWISE:
            arrays = [rng.normal(size=shape), rng.normal(size=(size, size, shape[-1], 1))]
            attrs = {"strides": [1, stride, stride, 1], "padding": padding, "dilations": [1, dilation, dilation, 1]}
            op = "DepthwiseConv2dNative"
            if fused_ops:
                op, attrs = "FusedDepthwiseConv2dNative", {**attrs, "fused_ops": list(fused_ops), "num_args": 1}
                arrays.append(rng.normal(size=(shape[-1],)))
            got, want = gl_and_cpu(backend, op, arrays, attrs)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{shape} {size} {attrs}")
        return programs_named(backend, "depthwise_packed")
    assert in_new_backend(monkeypatch, None, run) == 8


@pytest.mark.parametrize("family", ["products", "depthwise"])
def test_generic_and_per_shape_programs_agree_bit_for_bit(monkeypatch, family):
    """The default's shape-generic programs sum in the per-shape programs' order."""
    def run(backend):
        rng = np.random.default_rng(6)
        outputs = []
        if family == "products":
            for op, sizes, attrs in PRODUCTS:
                for shapes in sizes:
                    outputs.append(gl_and_cpu(backend, op, [rng.normal(size=s) for s in shapes], attrs)[0])
        else:
            for shape, size, stride, padding, dilation, _ in DEPTHWISE:
                attrs = {"strides": [1, stride, stride, 1], "padding": padding,
                         "dilations": [1, dilation, dilation, 1]}
                arrays = [rng.normal(size=shape), rng.normal(size=(size, size, shape[-1], 1))]
                outputs.append(gl_and_cpu(backend, "DepthwiseConv2dNative", arrays, attrs)[0])
        return outputs
    for generic, per_shape in zip(in_new_backend(monkeypatch, None, run), in_new_backend(monkeypatch, "0", run)):
        np.testing.assert_array_equal(generic, per_shape)


def test_deep_gather_nd_index_tuples_get_a_program_of_their_own(monkeypatch):
    calls = [("GatherNd", [floats(2, 3, 2, 2, 3, 2, 2, 5), np.array([[1, 2, 1, 0, 2, 1, 1], [0, 0, 0, 1, 1, 1, 0]],
                                                                      np.int32)], {}),
             ("GatherNd", [floats(4, 3), np.array([[3, 2]], np.int32)], {})]

    def run(backend):
        return run_ops(backend, calls), programs_named(backend, "gather_nd")

    outputs, programs = in_new_backend(monkeypatch, None, run)
    assert programs == 2
    for out, expected in zip(outputs, run_ops(get_backend("cpu"), calls)):
        np.testing.assert_array_equal(out[0], expected[0])


def test_convolutions_of_new_batch_sizes_share_their_im2col_and_pack_programs(monkeypatch):
    """A batch size is a shape: im2col (its window and image sizes still defines) and packing an
    unpacked input (even where its reads divide: one draw per input) share programs across them,
    where a program per batch size cost each new size a compile; bit for bit as programs per shape."""
    batches = (1, 2, 3, 5, 8, 13)
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME", "data_format": "NHWC", "dilations": [1, 1, 1, 1]}
    rng = np.random.default_rng(3)
    filters = rng.normal(size=(3, 3, 3, 8)).astype(np.float32)
    images = [rng.normal(size=(n, 96, 96, 3)).astype(np.float32) for n in batches]

    def run(backend):
        outputs = []
        with backend.session():
            for image in images:
                x = Tensor(image, "float32")
                backend.texture_of(x)  # unpacked, as a model's input: the convolution packs it
                outputs.append(backend.run("Conv2D", [x, Tensor(filters, "float32")], attrs)[0].numpy())
        return outputs, programs_named(backend, "im2col_packed"), programs_named(backend, "pack")

    generic, im2col, pack = in_new_backend(monkeypatch, None, run)
    per_shape, im2col_per_shape, pack_per_shape = in_new_backend(monkeypatch, "0", run)
    assert im2col_per_shape == pack_per_shape == len(batches)
    assert im2col <= 3 and pack <= 3  # batch 1 (a unit dim folded), and textures that are rows or not
    cpu = get_backend("cpu")
    for image, got, want in zip(images, generic, per_shape):
        np.testing.assert_array_equal(got, want)
        reference = cpu.run("Conv2D", [Tensor(image, "float32"), Tensor(filters, "float32")], attrs)[0].numpy()
        np.testing.assert_allclose(got, reference, rtol=1e-4, atol=1e-4)


def test_reductions_of_new_batch_sizes_share_a_program_though_their_reads_divide(monkeypatch):
    """A global average pool's rows (batch x 400 channels of 9 values) in a texture of a row per
    image: reading them by row divides by a uniform, which costs a reduction nothing per draw."""
    batches = (2, 3, 5, 8)
    axis = Tensor(np.array([1], np.int32), "int32")
    rng = np.random.default_rng(4)
    values = [rng.normal(size=(n, 400 * 9)).astype(np.float32) for n in batches]

    def run(backend):
        outputs = []
        with backend.session():
            for n, array in zip(batches, values):
                x = Tensor(array, "float32")
                backend.texture_of(x)  # n rows of 3600: rows of 9 straddle texture rows
                rows = alias(x, (n * 400, 9))
                outputs.append(backend.run("Mean", [rows, axis], {"keep_dims": False})[0].numpy())
        return outputs, programs_named(backend, "reduce")

    generic, programs = in_new_backend(monkeypatch, None, run)
    per_shape, programs_per_shape = in_new_backend(monkeypatch, "0", run)
    assert programs == 1 and programs_per_shape == len(batches)
    for n, array, got, want in zip(batches, values, generic, per_shape):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(got, array.reshape(n * 400, 9).mean(axis=1), rtol=1e-5, atol=1e-6)
