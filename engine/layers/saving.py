"""LayersModel.save: the model's topology (its layers' trainable flags as set) and current weights
written as a TF.js layers model, through engine.io's writer and staged folder (all or nothing)."""
from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING

import numpy as np

from engine import __version__
from engine.errors import InputError
from engine.io.saving import staged_folder, write_layers_model
from engine.layers.config import model_config

if TYPE_CHECKING:
    from engine.layers.model import LayersModel


def save_layers_model(model: LayersModel, folder: str, shard_size_bytes: int) -> None:
    target = os.path.abspath(folder)
    if os.path.exists(target) and not os.path.isdir(target):
        raise InputError(f"save writes a folder (model.json and shards); {target} is a file")
    if not isinstance(shard_size_bytes, int) or shard_size_bytes <= 0:
        raise InputError(f"shard_size_bytes must be a positive integer, got {shard_size_bytes!r}")
    topology = _topology(model)
    weights = [(name, np.asarray(value)) for name, value in model.weights.items()]
    with staged_folder(target) as staging:
        write_layers_model(topology, [weights], staging, f"tfgl v{__version__} (LayersModel.save)",
                           shard_size_bytes=shard_size_bytes, metadata=model.metadata,
                           generator=model.artifacts.generated_by)


def _topology(model: LayersModel) -> dict:
    """The loaded topology with each top-level layer's `trainable` as the model has it now."""
    topology = copy.deepcopy(model.artifacts.model_topology)
    body = model_config(topology).get("config")
    entries = body.get("layers", []) if isinstance(body, dict) else body or []
    for entry in entries:
        config = entry.get("config") if isinstance(entry, dict) else None
        if isinstance(config, dict) and config.get("name") is not None:
            config["trainable"] = config["name"] not in model.frozen
    return topology
