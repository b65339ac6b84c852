"""Long runs and threads: one model used from several threads at once gives each caller its own
right answer, and textures, texture memory, the Python heap and compiled programs stay flat over
1000 inferences."""
import threading
import tracemalloc

import numpy as np
import pytest

import engine
from tests.conftest import fixture_path

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
