"""Long runs and threads: one model used from several threads at once gives each caller its own
right answer, and textures, texture memory, the Python heap and compiled programs stay flat over
1000 inferences."""
import threading
import tracemalloc

import numpy as np
import pytest

import engine
from engine.tensors import Tensor
from tests.conftest import fixture_path, on_a_thread_of_its_own

pytestmark = pytest.mark.webgl


def _inputs(model, rng, count):
    shape = tuple(1 if d is None else d for d in model.inputs[0].shape)
    return [rng.random(shape, np.float32) for _ in range(count)]


def test_one_model_from_several_threads(webgl, backend, rng):
    path = fixture_path("mobilenet_v2")
    model = engine.load_graph_model(path, backend=backend)
    reference = engine.load_graph_model(path, backend="cpu")
    inputs = _inputs(model, rng, 16)
    want = [reference.predict(x) for x in inputs]
    got, errors = {}, []
    start = threading.Barrier(4)

    def worker(offset):
        try:
            start.wait()
            for i in range(offset, len(inputs), 4):
                got[i] = model.predict(inputs[i])
        except Exception as error:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and not any(t.is_alive() for t in threads)
    for i, expected in enumerate(want):
        np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-5)


def test_textures_and_programs_stay_flat_over_1000_inferences(webgl, rng):
    """Replayed and non-replayed calls alike (two input shapes alternate, plus intermediate
    fetches that run through the executor)."""
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
    backend = model.backend
    shape = [1 if d is None else d for d in model.inputs[0].shape]
    batches = [rng.random([b] + shape[1:], np.float32) for b in (1, 2)]
    intermediate = next(n.name for n in model.executor.graph.nodes.values() if n.op.endswith("Conv2D"))

    def call(i):
        x = batches[i % 2]
        return model.execute(x, intermediate) if i % 10 == 9 else model.predict(x)

    for i in range(20):
        call(i)
    counters = (backend.textures.textures_alive(), backend.texture_bytes(), backend.stats.programs_made,
                backend.textures.in_use)
    first = [call(i) for i in range(2)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1000):
            call(i)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1 << 20, f"Python heap grew by {grown} bytes over 1000 calls"
    assert (backend.textures.textures_alive(), backend.texture_bytes(), backend.stats.programs_made,
            backend.textures.in_use) == counters
    np.testing.assert_array_equal(call(0), first[0])


def test_a_threads_backend_closes_and_goes_when_the_thread_ends(webgl, rng):
    """Threads that come and go (a server's, a pool's) do not pile up GL contexts: each one's backend
    closes when it ends, and the model's recorded plans and weight uploads for it go too."""
    import gc
    import weakref

    from engine.backends import webgl as webgl_backend
    model = engine.load_graph_model(fixture_path("mobilenet_v2"), backend="webgl")
    x = _inputs(model, rng, 1)[0]
    # This thread uploads the weights first, and they keep that upload: a thread that uploads first and
    # ends leaves its closed backend to the weights (its GL context goes all the same).
    want = model.predict(x)

    def call_three_times():  # the executor, the recording, a replay
        got = [model.predict(x) for _ in range(3)]
        backend = webgl_backend.backend_for_thread()
        assert model.replays.last.backend is backend
        return got, weakref.ref(backend)
    for _ in range(2):
        got, backend = on_a_thread_of_its_own(call_three_times)
        for y in got:
            np.testing.assert_array_equal(y, want)
        gc.collect()
        assert backend() is None
        assert model.replays.last is None  # it was the ended thread's
    np.testing.assert_array_equal(model.predict(x), want)


def test_the_closed_backend_that_a_models_weights_keep_holds_nothing_of_its_context(webgl, rng):
    """A thread that uploads the weights first and ends leaves its backend to the weights' device
    data: an empty shell, not its programs, framebuffers and free textures."""
    import gc
    import weakref

    from engine.backends import webgl as webgl_backend
    model = engine.load_graph_model(fixture_path("mobilenet_v2"), backend="webgl")
    x = _inputs(model, rng, 1)[0]

    def call_three_times():
        for _ in range(3):
            model.predict(x)
        backend = webgl_backend.backend_for_thread()
        assert backend.programs.compiled and backend._framebuffers and backend.texture_bytes() > 0
        image = Tensor(x, "float32")
        backend.texture_of(image)
        (left_on_the_gpu,) = backend.run("Exp", [image])
        return weakref.ref(backend), left_on_the_gpu
    backend, left_on_the_gpu = on_a_thread_of_its_own(call_three_times)
    gc.collect()
    shell = backend()
    assert shell is not None and shell.closed  # the weights keep it
    assert not shell.programs.compiled and not shell.programs._bindings and not shell._framebuffers
    assert shell.own_textures.bytes_free == 0 and not shell.uniform_values
    del left_on_the_gpu  # a tensor that outlived its thread releases its texture into the forgotten pool
    gc.collect()
    assert shell.own_textures.bytes_free == 0
    np.testing.assert_array_equal(model.predict(x), engine.load_graph_model(fixture_path("mobilenet_v2"),
                                                                            backend="webgl").predict(x))


def test_a_tensor_left_on_an_ended_threads_gpu_says_where_it_went(webgl):
    from engine.backends import webgl as webgl_backend
    from engine.errors import GLError
    from engine.tensors import Tensor

    def exp_on_the_gpu():
        backend = webgl_backend.backend_for_thread()
        x = Tensor(np.linspace(-1, 1, 300, dtype=np.float32), "float32")
        backend.texture_of(x)
        (y,) = backend.run("Exp", [x])
        assert not y.has_values() and backend.on_gpu(y)
        return y, backend
    y, backend = on_a_thread_of_its_own(exp_on_the_gpu)
    assert backend.closed
    with pytest.raises(GLError, match="thread ended"):
        y.numpy()


def test_models_that_come_and_go_leave_nothing_on_a_long_lived_threads_backend(webgl, rng):
    import gc

    from engine.backends import webgl as webgl_backend

    def load_and_drop_models() -> int:
        for _ in range(4):
            model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
            x = _inputs(model, rng, 1)[0]
            for _ in range(2):  # the second call records a plan: the model's replays note the backend
                model.predict(x)
            del model
            gc.collect()
        return len(webgl_backend.backend_for_thread()._on_close)
    assert on_a_thread_of_its_own(load_and_drop_models) == 1  # the last model's, dropped at the next one


@pytest.mark.parametrize("pool_mb", [1, 0])
def test_calls_with_ever_new_shapes_keep_a_bounded_number_of_plans_and_free_textures(webgl, rng, monkeypatch,
                                                                                     pool_mb):
    """Each batch size records a plan that holds its textures, and frees textures of its sizes: a
    model keeps the TFGL_REPLAY_PLANS plans replayed last, the backend TFGL_TEXTURE_POOL_MB of free
    textures (the sizes freed into longest ago go first; 0: none, so textures and their framebuffers
    are deleted between draws). A shape whose plan went records again, same bits."""
    from engine.backends import webgl as webgl_backend
    monkeypatch.setenv("TFGL_REPLAY_PLANS", "2")
    monkeypatch.setenv("TFGL_TEXTURE_POOL_MB", str(pool_mb))
    model = engine.load_graph_model(fixture_path("small_cnn"), backend="webgl")
    shape = [1 if d is None else d for d in model.inputs[0].shape]
    batches = {n: rng.random([n] + shape[1:], np.float32) for n in range(1, 13)}

    def calls():
        backend = webgl_backend.backend_for_thread()
        first, free_bytes = {}, []
        for n, x in batches.items():
            first[n] = [model.predict(x) for _ in range(3)]  # the executor, the recording, a replay
            free_bytes.append(backend.textures.bytes_free)
        entries = model.replays._by_backend[backend]
        plans = [entry for entry in entries.values() if not isinstance(entry, str)]
        shapes = len(entries)
        again = [model.predict(batches[1]) for _ in range(3)]  # recorded again, then replayed
        return first, free_bytes, len(plans), shapes, again
    first, free_bytes, plans, shapes, again = on_a_thread_of_its_own(calls)
    assert plans == 2 and shapes == 8  # the shapes remembered without a plan: under 4x as many
    assert max(free_bytes) <= pool_mb << 20
    for outputs in first.values():
        for y in outputs[1:]:
            np.testing.assert_array_equal(y, outputs[0])
    for y in again:
        np.testing.assert_array_equal(y, first[1][0])


def test_a_pool_past_its_free_limit_deletes_the_sizes_freed_into_longest_ago(webgl):
    from engine.backends import webgl as webgl_backend
    from engine.webgl.texture_pool import TextureManager, free_texture_limit, texture_bytes
    backend = webgl_backend.backend_for_thread()
    one = texture_bytes(64, 64, 4, "f4")
    with backend.current():
        pool = TextureManager(backend.ctx, free_limit=2 * one)
        a, b, c = (pool.acquire(64, 64, 4) for _ in range(3))
        small = pool.acquire(8, 8, 1)
        for texture in (a, b, small, c):
            pool.release(texture)
        # Past the limit at the small one (a goes), and at c, which makes the big size the one freed
        # into last: the small size goes, not b.
        assert pool.evicted == [a, small] and pool.bytes_free == 2 * one
        d = pool.acquire(16, 16, 4)
        pool.release(d)
        assert pool.evicted == [a, small, b]
        assert pool.textures_alive() == 5
        for texture in pool.take_evicted():
            texture.release()
        assert pool.evicted == [] and pool.textures_alive() == 2
        assert pool.acquire(64, 64, 4) is c and pool.acquire(16, 16, 4) is d
        pool.release(c)
        plan = TextureManager(backend.ctx, lender=pool)
        old = plan.acquire(80, 80, 4)
        plan.release(old)
        plan.merge_into(pool)  # past the limit: a dropped plan's textures go first, though they came last
        assert pool.evicted == [old]
        old.release()
        pool.take_evicted()
        held = [pool.acquire(64, 64, 4) for _ in range(2)]
        assert held[0] is c
        created = pool.created
        pool.reserve({(64, 64, 4, "f4"): 5})  # warm-up's make-ahead stops at the limit
        assert pool.created == created + 2 and pool.evicted == [] and pool.bytes_free == 2 * one
        for texture in held + [d] + [pool.acquire(64, 64, 4) for _ in range(2)]:
            texture.release()
    assert free_texture_limit({"TFGL_TEXTURE_POOL_MB": "3"}) == 3 << 20
    assert free_texture_limit({"TFGL_TEXTURE_POOL_MB": "0"}) == 0
    with pytest.warns(RuntimeWarning, match="TFGL_TEXTURE_POOL_MB"):
        assert free_texture_limit({"TFGL_TEXTURE_POOL_MB": "lots"}) == free_texture_limit({})


def test_an_evicted_texture_takes_its_framebuffer_with_it(webgl, monkeypatch):
    """Drivers hand a deleted texture's name to later ones (NVIDIA's does): a framebuffer cached under
    the name would draw into the deleted texture."""
    import moderngl

    from engine.backends import webgl as webgl_backend
    from engine.tensors import Tensor
    monkeypatch.setenv("TFGL_TEXTURE_POOL_MB", "0")  # keep no free texture

    def draw_then_free():
        backend = webgl_backend.backend_for_thread()
        x = Tensor(np.linspace(-1, 1, 300, dtype=np.float32), "float32")
        backend.texture_of(x)
        (y,) = backend.run("Exp", [x])
        texture = y.device_data.texture
        drawn = texture.glo in backend._framebuffers
        y.dispose()  # into the pool, and out of it at once: evicted
        evicted = backend.own_textures.evicted == [texture]
        with backend.current():  # the next GL section deletes it
            pass
        return drawn, evicted, texture, backend
    drawn, evicted, texture, backend = on_a_thread_of_its_own(draw_then_free)
    assert drawn and evicted
    assert isinstance(texture.mglo, moderngl.InvalidObject)  # deleted
    assert texture.glo not in backend._framebuffers


def test_a_release_that_a_collection_nests_inside_a_pool_change_waits_for_it(webgl):
    """A garbage collection in the middle of a pool change may finalize a tensor that releases into the
    same pool, on the same thread: that release must meet the pool whole (not lose its texture)."""
    from engine.backends import webgl as webgl_backend
    from engine.webgl.texture_pool import TextureManager

    class Collecting(dict):
        def __init__(self, nested):
            super().__init__()
            self.nested = nested

        def pop(self, *args):
            found = super().pop(*args)
            while self.nested:
                self.nested.pop()()  # the finalizer, halfway through the outer release
            return found

    backend = webgl_backend.backend_for_thread()
    with backend.current():
        pool = TextureManager(backend.ctx)
        a, b = pool.acquire(4, 4), pool.acquire(4, 4)
        pool._free = Collecting([lambda: pool.release(b)])
        pool.release(a)
        assert pool.in_use == 0 and pool.textures_alive() == 2
        assert {id(pool.acquire(4, 4)), id(pool.acquire(4, 4))} == {id(a), id(b)}
        a.release()
        b.release()


def test_an_ended_threads_backends_all_close_though_one_fails_to(webgl):
    from engine.backends.webgl import _ThreadBackends

    class Backend:
        def __init__(self, name, fails):
            self.name, self.fails, self.closed = name, fails, False

        def close(self):
            self.closed = True
            if self.fails:
                raise RuntimeError("the driver said no")
    failing, other = Backend("webgl", True), Backend("webgl-fp16", False)
    holder = _ThreadBackends(first=failing, second=other)
    with pytest.warns(RuntimeWarning, match="closing an ended thread's webgl backend failed: the driver said no"):
        del holder
    assert failing.closed and other.closed
