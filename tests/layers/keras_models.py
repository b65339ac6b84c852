"""Test scaffolding: writes an in-memory Keras model (Keras 3 or tf_keras) in the TF.js layers format,
as the official converter lays it out (topology under model_config, weights named layer/.../kernel),
and compares tfgl's outputs with Keras's own."""
from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np

import engine
from engine.io import write_weights
from tests.fixtures.layers_sources import weight_name


def save_as_tfjs(model, folder: str) -> str:
    """Writes model.json + shards for `model`; returns the model.json path."""
    import keras
    os.makedirs(folder, exist_ok=True)
    is_keras3 = model.__class__.__module__.startswith("keras.")
    version = keras.__version__ if is_keras3 else __import__("tf_keras").__version__
    topology = {"keras_version": version, "backend": "tensorflow",
                "model_config": {"class_name": model.__class__.__name__ if not is_keras3 else
                                 ("Sequential" if model.__class__.__name__ == "Sequential" else "Functional"),
                                 "config": model.get_config()}}
    weights = [(weight_name(w), np.asarray(w.numpy())) for w in model.weights]
    manifest = write_weights([weights], folder)
    data = {"format": "layers-model", "generatedBy": f"keras v{version}", "convertedBy": "tfgl tests",
            "modelTopology": topology, "weightsManifest": manifest}
    path = os.path.join(folder, "model.json")
    with open(path, "w") as file:
        json.dump(data, file, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return path


def randomize(model, seed: int = 0) -> None:
    """Non-trivial weights everywhere (biases, batch-norm statistics), scaled to keep activations sane."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        shape, name = tuple(weight.shape), weight_name(weight)
        if name.endswith(("moving_variance", "gamma")):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("bias", "beta", "moving_mean")):
            value = rng.normal(0, 0.2, shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            value = rng.normal(0, 1 / np.sqrt(max(fan_in, 1)), shape)
        weight.assign(value.astype(np.float32))


def rewrite_layer_configs(path: str, rewrite: Callable[[dict], None]) -> None:
    """Calls `rewrite` on each layer's config in the model.json at `path` and saves the result, to
    write configs in forms TF.js writes and Keras doesn't."""
    with open(path) as file:
        data = json.load(file)
    for entry in data["modelTopology"]["model_config"]["config"]["layers"]:
        rewrite(entry["config"])
    with open(path, "w") as file:
        json.dump(data, file)


def assert_matches_keras(model, inputs, folder: str, backend: str, tolerance: float = 1e-4) -> None:
    """tfgl's predict on the saved model equals Keras's (max |error| <= tolerance * max |Keras|)."""
    path = save_as_tfjs(model, folder)
    want = model.predict(inputs, verbose=0)
    want = want if isinstance(want, list) else [want]
    loaded = engine.load_layers_model(path, backend=backend)
    got = loaded.execute(inputs if isinstance(inputs, list) else [inputs])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape, f"shape {g.shape} != Keras {w.shape}"
        scale = max(np.abs(w).max(), 1e-6)
        assert np.abs(g - w).max() <= tolerance * scale, f"max error {np.abs(g - w).max():.3g} vs scale {scale:.3g}"


def assert_model_matches_keras(keras, inputs, outputs, x, folder: str | os.PathLike, backend: str) -> None:
    """assert_matches_keras on a randomized keras.Model(inputs, outputs)."""
    model = keras.Model(inputs, outputs)
    randomize(model)
    assert_matches_keras(model, x, str(folder), backend)


def sequence(rng, batch: int, steps: int, features: int) -> np.ndarray:
    """A random (batch, steps, features) float32 input for recurrent layers."""
    return rng.normal(size=(batch, steps, features)).astype(np.float32)
