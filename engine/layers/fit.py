"""Keras's fit and evaluate loops over a layers model: batches of numpy data, train_step per batch
with the weights held as tensors on the model's backend, the loss and metrics averaged per sample
over the epoch (Keras's Mean weighted by batch size), callbacks, and a progress bar."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from engine import metrics as metric_functions
from engine.callbacks import Callback, History
from engine.errors import InputError
from engine.layers.training import forward, train_step, weight_tensors
from engine.tensors import Tensor

if TYPE_CHECKING:
    from engine.layers.model import LayersModel

DEFAULT_BATCH_SIZE = 32


class Totals:
    """Sums over an epoch's samples: the loss, weighted by batch size, and each metric."""

    def __init__(self, names: Sequence[str]):
        self.names, self.count = list(names), 0
        self.sums = dict.fromkeys(["loss", *self.names], 0.0)
        self._metrics: dict[str, metric_functions.Metric] = {}

    def add(self, loss: float, y: np.ndarray, y_pred: np.ndarray | None) -> None:
        count = len(y)
        self.count += count
        self.sums["loss"] += loss * count
        for name in self.names:
            if name not in self._metrics:
                self._metrics[name] = metric_functions.resolve(name, y, y_pred)
            self.sums[name] += float(np.sum(self._metrics[name](y, y_pred), dtype=np.float64))

    def logs(self, prefix: str = "") -> dict[str, float]:
        return {prefix + name: total / max(self.count, 1) for name, total in self.sums.items()}


def _compiled(model: LayersModel):
    if model.compiled is None:
        raise InputError("the model is not compiled; call model.compile(optimizer=..., loss=...) first")
    return model.compiled


def _data(model: LayersModel, x: Any, y: Any) -> tuple[list[np.ndarray], np.ndarray]:
    """The inputs as numpy arrays in input order, and the targets, with one sample count."""
    inputs = [t.numpy() for t in model._inputs(x)]
    targets = np.asarray(y)
    counts = {len(a) if a.ndim else 0 for a in inputs} | {len(targets) if targets.ndim else 0}
    if len(counts) != 1:
        raise InputError(f"inputs and targets hold different numbers of samples: {sorted(counts)}")
    if not targets.ndim or not len(targets):
        raise InputError("fit and evaluate need at least one sample")
    return inputs, targets


def _batch_size(batch_size: int | None) -> int:
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _verbosity(verbose: int | str) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise InputError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _bar(verbosity: int, total: int, description: str):
    """A tqdm bar for verbose=1 (tqdm is imported only then), else None."""
    if verbosity != 1:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=description, unit="step")


def _summary(logs: dict[str, float]) -> str:
    return " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())


def fit(model: LayersModel, x: Any, y: Any, batch_size: int | None, epochs: int, verbose: int | str,
        callbacks: Sequence[Callback] | None, validation_data: tuple[Any, Any] | None, shuffle: bool,
        initial_epoch: int, seed: int | None) -> History:
    compiled = _compiled(model)
    inputs, targets = _data(model, x, y)
    size, verbosity = _batch_size(batch_size), _verbosity(verbose)
    if validation_data is not None and (not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2):
        raise InputError("validation_data must be a pair (x, y)")
    rng = np.random.default_rng(seed)
    history = History()
    hooks = [*(callbacks or ()), history]
    for hook in hooks:
        hook.set_model(model)
    model.stop_training = False
    model.history = history
    weights, weights_of = _weights(model)
    for hook in hooks:
        hook.on_train_begin()
    steps = -(-len(targets) // size)
    for epoch in range(initial_epoch, epochs):
        for hook in hooks:
            hook.on_epoch_begin(epoch)
        order = rng.permutation(len(targets)) if shuffle else np.arange(len(targets))
        totals = Totals(compiled.metrics)
        bar = _bar(verbosity, steps, f"Epoch {epoch + 1}/{epochs}")
        for step_index in range(steps):
            batch = order[step_index * size:(step_index + 1) * size]
            for hook in hooks:
                hook.on_train_batch_begin(step_index)
            step = train_step(model, weights, compiled.optimizer, compiled.loss, [a[batch] for a in inputs],
                              targets[batch], seed=rng)
            weights = step.weights
            totals.add(float(step.loss.numpy()), targets[batch],
                       step.outputs[0].numpy() if compiled.metrics else None)
            logs = totals.logs()
            for hook in hooks:
                hook.on_train_batch_end(step_index, logs)
            if bar is not None:
                bar.set_postfix(logs, refresh=False)
                bar.update()
        model._assign_weights({name: tensor.numpy() for name, tensor in weights.items()}, trained=True)
        weights_of = model.weights
        logs = totals.logs()
        if validation_data is not None:
            logs.update(evaluate(model, *validation_data, size, 0, prefix="val_"))
        if bar is not None:
            bar.set_postfix(logs, refresh=False)
            bar.close()
        elif verbosity == 2:
            print(f"Epoch {epoch + 1}/{epochs} - {_summary(logs)}")
        for hook in hooks:
            hook.on_epoch_end(epoch, logs)
        if model.weights is not weights_of:   # a callback set the weights: train on from those
            weights, weights_of = _weights(model)
        if model.stop_training:
            break
    for hook in hooks:
        hook.on_train_end()
    return history


def _weights(model: LayersModel) -> tuple[dict[str, Tensor], dict]:
    """The model's weights as tensors for training, and the dict they were read from."""
    return weight_tensors(model), model.weights


def evaluate(model: LayersModel, x: Any, y: Any, batch_size: int | None, verbose: int | str,
             prefix: str = "") -> dict[str, float]:
    """The loss (from the logits where Keras takes them) and metrics over the data, by name."""
    compiled = _compiled(model)
    inputs, targets = _data(model, x, y)
    size, verbosity = _batch_size(batch_size), _verbosity(verbose)
    on_logits = compiled.loss.on_logits()
    totals = Totals(compiled.metrics)
    steps = -(-len(targets) // size)
    bar = _bar(verbosity, steps, "evaluate")
    for step_index in range(steps):
        batch = slice(step_index * size, (step_index + 1) * size)
        passed = forward(model, [a[batch] for a in inputs], {}, training=False)
        logits = passed.logits[0]
        if on_logits is not None and logits is not None:
            loss = on_logits(targets[batch], logits, model.backend)
        else:
            loss = compiled.loss(targets[batch], passed.outputs[0], model.backend)
        totals.add(float(loss.numpy()), targets[batch], passed.outputs[0].numpy() if compiled.metrics else None)
        if bar is not None:
            bar.update()
    logs = totals.logs(prefix)
    if bar is not None:
        bar.set_postfix(logs, refresh=False)
        bar.close()
    elif verbosity == 2:
        print(_summary(logs))
    return logs
