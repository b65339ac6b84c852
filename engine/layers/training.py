"""A layers model's forward pass with its weights as tensors the caller holds: what gradients are
taken through (engine.autodiff records the ops the executor runs) and what optimizers update; and
one training step made of them, which model.fit (engine/layers/fit.py) repeats."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.autodiff import gradients
from engine.errors import InputError
from engine.losses import Loss
from engine.optimizers import Optimizer
from engine.tensors import Tensor

if TYPE_CHECKING:
    from engine.layers.model import LayersModel

# Keras keeps the input of these activations on their output (`_keras_logits`) and computes a
# crossentropy of that output from the logits instead: so does a training step here.
LOGITS_OF = ("Softmax", "Sigmoid")


@dataclass(frozen=True)
class Forward:
    """A forward pass's outputs, and (training) the new values of the weights layers update
    themselves (BatchNormalization's moving mean and variance), by manifest name; `logits`, per
    output, the input of the softmax or sigmoid that made it (None where no such op did)."""

    outputs: list[Tensor]
    updates: dict[str, Tensor]
    logits: list[Tensor | None]


@dataclass(frozen=True)
class Step:
    """One training step: the loss before it, the weights after it, the outputs it trained on."""

    loss: Tensor
    weights: dict[str, Tensor]
    outputs: list[Tensor]


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
    logit_keys = [_logits_key(executor, key) for key in output_keys]
    fetches = output_keys + [io.updates[name] for name in update_names] + [k for k in logit_keys if k]
    backend = model.backend
    with backend.session(executor.workload(feeds, fetches)):
        results = executor.run(feeds, fetches, backend)
    outputs, rest = results[:len(output_keys)], results[len(output_keys):]
    updates, found = dict(zip(update_names, rest[:len(update_names)])), iter(rest[len(update_names):])
    return Forward(outputs, updates, [next(found) if key else None for key in logit_keys])


def _logits_key(executor, key: tuple[str, int]) -> tuple[str, int] | None:
    node = executor.graph.nodes.get(key[0])
    return node.inputs[0] if node is not None and node.op in LOGITS_OF and key[1] == 0 else None


def train_step(model: LayersModel, weights: Mapping[str, Tensor], optimizer: Optimizer, loss: Loss, x: Any, y: Any,
               seed: int | np.random.Generator | None = None) -> Step:
    """One step of Keras's training loop on a single-output model: the forward pass in training
    mode, the loss (from the logits where Keras takes them), its gradients with respect to the
    trainable weights (all but those frozen layers hold or layers update themselves), the
    optimizer's update, and the layers' own updates."""
    shapes = [t.shape for t in model._inputs(x)]
    trainable = [name for name in model.training_io(shapes, True).trainable if name in weights]
    on_logits = loss.on_logits()
    passes: list[Forward] = []

    def loss_value() -> Tensor:
        passes.append(forward(model, x, weights, seed=seed))
        logits = passes[-1].logits[0]
        if on_logits is not None and logits is not None:
            return on_logits(y, logits, model.backend)
        return loss(y, passes[-1].outputs[0], model.backend)
    value, grads = gradients(loss_value, [weights[name] for name in trainable])
    updated = optimizer.apply_gradients(weights, dict(zip(trainable, grads)), model.backend)
    updated.update({name: tensor for name, tensor in passes[-1].updates.items() if name in weights})
    return Step(value, updated, passes[-1].outputs)
