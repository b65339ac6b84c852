"""Keras's training callbacks for LayersModel.fit: hooks per epoch and batch, EarlyStopping, and
the History fit returns. A callback sees the model (set_model) and the epoch's logs, a dict of
Python floats ('loss', 'accuracy', 'val_loss', ...); setting model.stop_training ends fit after the
epoch."""
from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.errors import InputError

Logs = dict[str, float]


class Callback:
    """Does nothing; subclasses override the hooks they need. It holds its model weakly (None once
    the model is gone): fit's History is the model's `history`, and a strong reference back would keep
    a trained model, and its textures, alive until a garbage collection found the two."""

    _model_ref: weakref.ref | None = None

    def set_model(self, model: Any) -> None:
        self._model_ref = None if model is None else weakref.ref(model)

    @property
    def model(self) -> Any:
        return None if self._model_ref is None else self._model_ref()

    @model.setter
    def model(self, model: Any) -> None:
        self.set_model(model)

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...


class LambdaCallback(Callback):
    """Hooks from functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None):
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)


class History(Callback):
    """What fit returns: `history[name]`, one value per epoch; `epoch`, the epochs' indices."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)


class EarlyStopping(Callback):
    """Stops training once `monitor` has not improved by more than `min_delta` for `patience`
    epochs (Keras 3's rule, counted after `start_from_epoch`); `mode` 'min', 'max' or 'auto' (max
    for accuracies, min otherwise); `restore_best_weights` puts back the best epoch's weights."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        if mode not in ("auto", "min", "max"):
            raise InputError(f"EarlyStopping mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.verbose, self.baseline = monitor, patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        higher_is_better = mode == "max" or (mode == "auto" and "acc" in monitor.removeprefix("val_"))
        self.sign = 1.0 if higher_is_better else -1.0
        self.min_delta = abs(min_delta)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best: float | None = self.baseline
        self.best_weights: list[np.ndarray] | None = None

    def _improves(self, value: float, reference: float | None) -> bool:
        return reference is None or self.sign * (value - reference) > self.min_delta

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise InputError(f"EarlyStopping monitors {self.monitor!r}, which fit does not report; it reports "
                             f"{', '.join(logs or {})}")
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
