"""Batch inference on Ray Data: a model per actor, batches of named numpy columns in and out.

    ds.map_batches(engine.ray.Predictor, fn_constructor_kwargs={"model": "web_model/model.json"},
                   compute=ray.data.ActorPoolStrategy(size=4), num_gpus=0.25, batch_size=64)

Predictor needs no Ray (it is a plain callable class), so `import engine.ray` never loads Ray;
only `predict_batches`, the driver behind `tfgl batch`, does. An actor given a GPU by Ray (num_gpus)
finds it in CUDA_VISIBLE_DEVICES, and its GL context opens on that GPU's EGL device
(engine/webgl/egl_devices.py).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.errors import InputError, TfglError


class Predictor:
    """Loads `model` (a model.json path or URL) once, then maps a batch whose columns are named by
    the model's inputs to one whose columns are named by its outputs. Columns the model does not take
    (ids, file names) are ignored; keep them by joining on row order (preserve_order)."""

    def __init__(self, model: str, backend: str | None = "webgl", **load_kwargs):
        import engine
        # Each thread has its own GL context (engine/webgl/context.py), and Ray Data calls an actor from a
        # thread other than the one that made it: one thread of ours loads and runs the model, so an actor
        # holds one context, and a warm-up (load_kwargs warmup=True) compiles for the context that runs.
        self._gl_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfgl-predictor")
        self.model = self._gl_thread.submit(engine.load_model, model, backend=backend, **load_kwargs).result()
        self.input_names = [info.name for info in self.model.inputs]
        self.output_names = [info.name for info in self.model.outputs]

    def __call__(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [name for name in self.input_names if name not in batch]
        if missing:
            raise InputError(f"the batch has no column {', '.join(map(repr, missing))}; its columns are "
                             f"{', '.join(map(repr, batch))} and the model's inputs {', '.join(self.input_names)}")
        feeds = {name: batch[name] for name in self.input_names}
        outputs = self._gl_thread.submit(self.model.execute, feeds, self.output_names).result()
        return dict(zip(self.output_names, outputs))


def predict_batches(model: str, sources: Sequence[Mapping[str, np.ndarray]], *, workers: int = 1,
                    batch_size: int = 64, backend: str | None = None, num_gpus: float = 0.0,
                    address: str | None = None, progress: bool = True,
                    predictor: type[Predictor] | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Runs `model` over the rows of `sources` (each a dict of equally long columns, named by the
    model's inputs) on `workers` Ray actors, each a `predictor` (default Predictor); yields output
    batches in input order. Connects to the Ray cluster at `address`, or starts a local one (unless
    this process is connected already); `progress`: Ray Data's progress bars."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, logging_level=logging.WARNING)
    gpus = ray.cluster_resources().get("GPU", 0)
    if address is None and num_gpus > gpus:  # Ray would wait for a GPU node forever; a cluster may add one
        raise TfglError(f"a worker asks for {num_gpus:g} GPU(s) and the local Ray cluster has {gpus:g}")
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = progress
    # An actor that dies is restarted and its batch retried: Ray Data's defaults for actor pools
    # (max_restarts=-1, max_task_retries=-1), which tests/test_ray.py holds it to.
    predictions = _dataset(sources, batch_size).map_batches(
        predictor or Predictor, fn_constructor_kwargs={"model": model, "backend": backend}, batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers), num_gpus=num_gpus or None)
    try:
        yield from predictions.iter_batches(batch_size=None, batch_format="numpy")
    except ray.exceptions.RayTaskError as error:
        raise TfglError(f"a Ray worker failed: {_first_cause(error)}") from None


def _first_cause(error: Exception) -> str:
    """The worker's own exception line ('engine.errors.InputError: ...'): Ray wraps it in exceptions of its
    own and sends its traceback as text, the exception objects of the chain not always with it."""
    for line in str(error).splitlines():
        if re.match(r"(?!ray\.)[\w.]+(Error|Exception|Exit|Interrupt)\b.*?: ", line):
            return line
    return f"{type(error.cause).__name__}: {error.cause}"


def _dataset(sources: Sequence[Mapping[str, np.ndarray]], batch_size: int):
    """One Arrow block per `batch_size` rows, in order; tensor columns keep their shape."""
    import pyarrow as pa
    import ray
    from ray.data.extensions import ArrowTensorArray

    def column(values) -> pa.Array:
        values = np.asarray(values)
        return ArrowTensorArray.from_numpy(values) if values.ndim > 1 else pa.array(values)

    tables = []
    for columns in sources:
        rows = len(next(iter(columns.values())))
        for start in range(0, rows, batch_size):
            block = {name: column(values[start:start + batch_size]) for name, values in columns.items()}
            tables.append(pa.table(block))
    return ray.data.from_arrow(tables)
