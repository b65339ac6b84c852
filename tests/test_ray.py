"""Batch inference on a local Ray cluster (one per module): hundreds of inputs over two actors equal
single-process predict row for row; an actor killed mid-run costs nothing; `tfgl batch` end to end."""
import os
import time

import numpy as np
import pytest
import ray

import engine
import engine.ray
from engine.cli import EXAMPLE_MODEL, main
from engine.errors import TfglError
from engine.ray import Predictor, predict_batches

pytestmark = pytest.mark.ray

ROWS, BATCH = 300, 32


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False)
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(7).standard_normal((ROWS, 24, 24, 3)).astype(np.float32)


def _blocks(images: np.ndarray):
    """One block per batch, so two actors share the work and a batch is the unit a retry repeats."""
    return ray.data.from_numpy([images[start:start + BATCH] for start in range(0, ROWS, BATCH)]) \
        .rename_columns({"data": "image"})


def _single_process(images: np.ndarray, backend: str, batch: int = BATCH) -> np.ndarray:
    """What one process gives for the same batches."""
    model = engine.load_graph_model(EXAMPLE_MODEL, backend=backend)
    return np.concatenate([model.predict(images[start:start + batch]) for start in range(0, len(images), batch)])


def _predict(predictor, images: np.ndarray, backend: str) -> np.ndarray:
    predictions = _blocks(images).map_batches(
        predictor, fn_constructor_kwargs={"model": EXAMPLE_MODEL, "backend": backend}, batch_size=BATCH,
        compute=ray.data.ActorPoolStrategy(size=2))
    return np.concatenate([b["output_0"] for b in predictions.iter_batches(batch_size=None, batch_format="numpy")])


def test_hundreds_of_inputs_over_two_actors_equal_single_process_predict(cluster, images):
    backend = engine.available_backends()[0]  # webgl on Mesa llvmpipe in CI: each actor its own context
    np.testing.assert_array_equal(_predict(Predictor, images, backend), _single_process(images, backend))


def test_an_actor_killed_mid_run_loses_and_repeats_nothing(cluster, images, tmp_path):
    marker = str(tmp_path / "killed")

    class DiesOnce(Predictor):
        """The first actor to reach its second batch exits without a word, once in the whole run."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.calls = 0

        def __call__(self, batch):
            self.calls += 1
            if self.calls == 2:
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    pass
                else:
                    os._exit(1)
            return super().__call__(batch)

    outputs = _predict(DiesOnce, images, "cpu")
    assert os.path.exists(marker), "no actor was killed"
    np.testing.assert_array_equal(outputs, _single_process(images, "cpu"))


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_tfgl_batch_end_to_end(cluster, images, tmp_path, suffix, monkeypatch):
    """Two .npy files, read one after the other, into one output in their order (batches of 50 fit
    both), though the first batch finishes last: `tfgl batch` asks Ray Data to keep the order."""
    first = images[0]

    class SlowFirst(Predictor):
        def __call__(self, batch):
            if np.array_equal(batch["image"][0], first):
                time.sleep(2)
            return super().__call__(batch)

    monkeypatch.setattr(engine.ray, "Predictor", SlowFirst)
    monkeypatch.setattr(ray.data.DataContext.get_current().execution_options, "preserve_order", False)
    np.save(tmp_path / "first.npy", images[:100])
    np.save(tmp_path / "second.npy", images[100:])
    out = tmp_path / f"out{suffix}"
    assert main(["--debug", "batch", EXAMPLE_MODEL, str(tmp_path / "first.npy"), str(tmp_path / "second.npy"),
                 "--output", str(out), "--workers", "2", "--batch-size", "50", "--backend", "cpu", "--quiet"]) == 0
    if suffix == ".npz":
        saved = np.load(out)["output_0"]
    else:
        import pyarrow.parquet as pq
        saved = pq.read_table(out)["output_0"].combine_chunks().to_numpy_ndarray()
    np.testing.assert_array_equal(saved, _single_process(images, "cpu", batch=50))


def test_asking_for_more_gpus_than_the_cluster_has_fails_at_once(cluster, images):
    with pytest.raises(TfglError, match="asks for 1 GPU"):
        next(predict_batches(EXAMPLE_MODEL, [{"image": images}], num_gpus=1))


def test_a_failing_worker_is_one_clear_error(cluster, images):
    with pytest.raises(TfglError, match=r"a Ray worker failed: engine.errors.InputError: the batch has no column"):
        list(predict_batches(EXAMPLE_MODEL, [{"pixels": images[:4]}], backend="cpu", progress=False))
