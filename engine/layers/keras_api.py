"""Keras's model API on LayersModel, in Python's idiom: compile / fit / evaluate, get_weights /
set_weights in Keras's order, layers[i].trainable for freezing, save in the TF.js
layers format. The loops are in engine/layers/fit.py, the writer in engine/layers/saving.py."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine import optimizers
from engine.callbacks import Callback, History
from engine.errors import InputError
from engine.io import DEFAULT_SHARD_BYTES
from engine.layers import fit as loops
from engine.layers.saving import save_layers_model
from engine.losses import Loss

if TYPE_CHECKING:
    from engine.layers.model import LayersModel


@dataclass(frozen=True)
class Compiled:
    """What compile set: the optimizer (its slots persist across fit calls), the loss, metric names."""

    optimizer: optimizers.Optimizer
    loss: Loss
    metrics: tuple[str, ...]


class Layer:
    """A handle on one of the model's top-level layers: its name and class, and `trainable`, which
    freezes it (and everything inside a nested model or wrapper) for fit."""

    def __init__(self, model: LayersModel, name: str, class_name: str):
        self._model, self.name, self.class_name = model, name, class_name

    @property
    def trainable(self) -> bool:
        return self.name not in self._model.frozen

    @trainable.setter
    def trainable(self, value: bool) -> None:
        frozen = self._model.frozen - {self.name} if value else self._model.frozen | {self.name}
        self._model._set_frozen(frozen)

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {self.class_name}, trainable={self.trainable})"


class KerasAPI:
    """Mixed into LayersModel, whose weights (numpy, by manifest name) are what these read and write."""

    compiled: Compiled | None = None
    stop_training = False      # a callback sets it to end fit after the current epoch

    @property
    def layers(self: LayersModel) -> list[Layer]:
        """The top-level layers as Keras 3 lists them: a Functional model's input layers included, a
        Sequential's left out."""
        sequential = self.spec.class_name == "Sequential"
        return [Layer(self, s.name, s.class_name) for s in self.spec.layers
                if not (sequential and s.class_name == "InputLayer")]

    def get_layer(self, name: str) -> Layer:
        for handle in self.layers:
            if handle.name == name:
                return handle
        raise InputError(f"no layer named {name!r}; the model's layers are: {', '.join(h.name for h in self.layers)}")

    @property
    def trainable(self: LayersModel) -> bool:
        return not self.frozen

    @trainable.setter
    def trainable(self: LayersModel, value: bool) -> None:
        self._set_frozen(frozenset() if value else frozenset(s.name for s in self.spec.layers))

    def _set_frozen(self: LayersModel, frozen: frozenset[str]) -> None:
        if frozen != self.frozen:
            self.frozen = frozenset(frozen)
            self._graphs_changed()

    def get_weights(self: LayersModel) -> list[np.ndarray]:
        """Every weight (trainable or not) as a numpy copy, in Keras's order (weight_order)."""
        return [np.array(self.weights[name]) for name in self.weight_order]

    def set_weights(self: LayersModel, values: Sequence[Any]) -> None:
        """Replaces every weight, given in get_weights' order, shapes unchanged."""
        names = self.weight_order
        if len(values) != len(names):
            raise InputError(f"set_weights takes {len(names)} arrays (the model's weights), got {len(values)}")
        arrays = {}
        for name, value in zip(names, values):
            old = np.asarray(self.weights[name])
            array = np.asarray(value)
            if array.shape != old.shape:
                raise InputError(f"weight {name!r} has shape {list(old.shape)}, got {list(array.shape)}")
            arrays[name] = array.astype(old.dtype)
        self._assign_weights(arrays)

    def _assign_weights(self: LayersModel, arrays: dict[str, np.ndarray], trained: bool = False) -> None:
        """`trained`: the values a fit computed, which its training graphs already read from feeds."""
        self.weights = {name: arrays.get(name, value) for name, value in self.weights.items()}
        self._graphs_changed(training_too=not trained)

    def compile(self: LayersModel, optimizer: str | optimizers.Optimizer = "rmsprop", loss: str | Loss | None = None,
                metrics: Sequence[str] | None = None) -> None:
        """Keras's compile: an optimizer (an instance or 'sgd', 'adam', 'rmsprop', 'adagrad' with
        Keras's defaults), a loss (a name or engine.losses.Loss) and metric names."""
        if loss is None:
            raise InputError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        if len(self.outputs) != 1:
            raise InputError(f"training handles single-output models; this one has {len(self.outputs)} outputs")
        self.compiled = Compiled(optimizers.get(optimizer), loss if isinstance(loss, Loss) else Loss(loss),
                                 tuple(metrics or ()))

    def fit(self: LayersModel, x: Any, y: Any, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None,
            validation_data: tuple[Any, Any] | None = None, shuffle: bool = True, initial_epoch: int = 0,
            seed: int | None = None) -> History:
        """Keras's fit: epochs of steps over batches (shuffled each epoch unless shuffle=False), a
        progress bar per epoch (verbose=1, 'auto'; one line per epoch with 2; nothing with 0), the
        validation data evaluated after each epoch. `seed` draws the shuffles and Dropout's masks."""
        return loops.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_data, shuffle,
                         initial_epoch, seed)

    def evaluate(self: LayersModel, x: Any, y: Any, batch_size: int | None = None, verbose: int | str = "auto",
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """The loss (and metrics: then [loss, *metrics]) over the data, in inference mode."""
        logs = loops.evaluate(self, x, y, batch_size, verbose)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def save(self: LayersModel, folder: str | os.PathLike, shard_size_bytes: int = DEFAULT_SHARD_BYTES) -> None:
        """Writes the model with its current weights as a TF.js layers model (model.json and
        groupN-shardKofM.bin shards, as the converter writes them) into `folder`, replacing what is
        there only once everything is written."""
        save_layers_model(self, os.fspath(folder), shard_size_bytes)
