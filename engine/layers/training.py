"""A layers model's forward pass with its weights as tensors the caller holds: what gradients are
taken through (engine.autodiff records the ops the executor runs) and what optimizers update; and
one training step made of them. compile / fit / evaluate (issue 15) build on these."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.autodiff import gradients
from engine.errors import InputError
from engine.layers.model import LayersModel
from engine.losses import Loss
from engine.optimizers import Optimizer
from engine.tensors import Tensor


@dataclass(frozen=True)
class Forward:
    """A forward pass's outputs, and (training) the new values of the weights layers update
    themselves (BatchNormalization's moving mean and variance), by manifest name."""

    outputs: list[Tensor]
    updates: dict[str, Tensor]


def weight_tensors(model: LayersModel) -> dict[str, Tensor]:
    """The model's float32 weights as tensors, by manifest name (in manifest order, Keras's)."""
    return {name: Tensor(np.asarray(value, np.float32), "float32")
            for name, value in model.weights.items() if np.asarray(value).dtype.kind == "f"}


def forward(model: LayersModel, inputs: Any, weights: Mapping[str, Tensor], training: bool = True,
            seed: int | np.random.Generator | None = None) -> Forward:
    """The model's outputs (tensors on its backend) for `inputs`, the graph reading each weight named
    in `weights` from that tensor; `training`: the layers' training-mode graph (batch statistics in
    BatchNormalization, Dropout's masks drawn from `seed`, a generator to draw a new sample each step
    or an int). Under a GradientTape that watches the weights, this records the pass."""
    tensors = model._inputs(inputs)
    shapes = [t.shape for t in tensors]
    executor, input_keys, output_keys = model.build(shapes, training)
    io = model.training_io(shapes, training)
    unknown = [name for name in weights if name not in model.weights]
    if unknown:
        raise InputError(f"unknown weight(s) {', '.join(unknown[:5])}; the model's weights are named as its manifest")
    feeds = dict(zip(input_keys, tensors))
    feeds.update({(node, 0): weights[name] for name, node in io.nodes.items() if name in weights})
    if io.noise:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        feeds.update({(node, 0): Tensor(noise.sample(rng), "float32") for node, noise in io.noise.items()})
    update_names = list(io.updates)
    backend = model.backend
    with backend.session():
        results = executor.run(feeds, output_keys + [io.updates[name] for name in update_names], backend)
    return Forward(results[:len(output_keys)], dict(zip(update_names, results[len(output_keys):])))


def train_step(model: LayersModel, weights: Mapping[str, Tensor], optimizer: Optimizer, loss: Loss, x: Any, y: Any,
               seed: int | np.random.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """One step of Keras's training loop on a single-output model: the forward pass in training
    mode, the loss's gradients with respect to the trainable weights (all but those layers update
    themselves), the optimizer's update, and the layers' own updates. Returns (the loss before the
    step, the weights after it)."""
    shapes = [t.shape for t in model._inputs(x)]
    self_updated = model.training_io(shapes, True).updates
    trainable = [name for name in weights if name not in self_updated]
    passes: list[Forward] = []

    def loss_value() -> Tensor:
        passes.append(forward(model, x, weights, seed=seed))
        return loss(y, passes[-1].outputs[0], model.backend)
    value, grads = gradients(loss_value, [weights[name] for name in trainable])
    updated = optimizer.apply_gradients(weights, dict(zip(trainable, grads)), model.backend)
    updated.update({name: tensor for name, tensor in passes[-1].updates.items() if name in weights})
    return value, updated
