"""Transfer learning, timed: a MobileNetV2 base (Keras's, width 0.35, 96x96 inputs, weights=None
with a fixed seed: nothing is downloaded) with a new classification head, saved as .keras and
taken to TF.js by `tfgl convert`; tfgl freezes the base and trains the head with model.fit, and
Keras 3 does the same from the same file, for the time per epoch side by side.

    python bench/transfer_learning.py [--backends webgl,cpu] [--samples 64] [--batch 16] [--epochs 3]

An epoch's time is wall time for fit's epoch (the first includes building the training graph and,
on webgl, compiling its programs); the table gives the first epoch and the median of the others.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_source(folder: str, classes: int) -> str:
    """The base and head in Keras, saved as model.keras; returns its path."""
    import keras
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    inputs = keras.Input((96, 96, 3))
    features = keras.layers.GlobalAveragePooling2D()(base(inputs))
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(features)
    path = os.path.join(folder, "model.keras")
    keras.Model(inputs, outputs).save(path)
    return path


class EpochTimes:
    """Wall time per epoch, from fit's epoch hooks (tfgl's callbacks and Keras's alike)."""

    def __init__(self):
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def fit_timed(model, library, x, y, batch: int, epochs: int) -> tuple[list[float], list[float]]:
    """Compiles `model` as the bench does and fits it; `library` is `engine` or `keras`, whose
    optimizers and callbacks the two fits take. Epoch times and losses."""
    model.compile(optimizer=library.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    timer = type("Timer", (EpochTimes, library.callbacks.Callback), {})()
    EpochTimes.__init__(timer)
    history = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0, callbacks=[timer])
    return timer.times, history.history["loss"]


def time_tfgl(web_model: str, backend: str, x, y, batch: int, epochs: int) -> tuple[list[float], list[float]]:
    import engine
    model = engine.load_layers_model(web_model, backend=backend)
    next(layer for layer in model.layers if layer.class_name == "Functional").trainable = False
    return fit_timed(model, engine, x, y, batch, epochs)


def time_keras(source: str, x, y, batch: int, epochs: int) -> tuple[list[float], list[float]]:
    import keras
    model = keras.saving.load_model(source, compile=False)
    next(layer for layer in model.layers if isinstance(layer, keras.Model)).trainable = False
    return fit_timed(model, keras, x, y, batch, epochs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="webgl,cpu")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--classes", type=int, default=5)
    args = parser.parse_args(argv)
    from engine.cli import main as tfgl
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.samples, 96, 96, 3)).astype(np.float32)
    y = rng.integers(0, args.classes, args.samples)
    with tempfile.TemporaryDirectory() as folder:
        source = build_source(folder, args.classes)
        web_model = os.path.join(folder, "web_model")
        if tfgl(["convert", source, web_model, "--input_format=keras"]) != 0:
            raise SystemExit("tfgl convert failed")
        rows = [(f"tfgl {backend}", *time_tfgl(web_model, backend, x, y, args.batch, args.epochs))
                for backend in args.backends.split(",")]
        rows.append(("Keras 3 (TensorFlow, CPU)", *time_keras(source, x, y, args.batch, args.epochs)))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {args.samples} samples, "
          f"batch {args.batch}, {args.epochs} epochs, base frozen\n")
    print("| runtime | first epoch (s) | later epochs, median (s) | loss per epoch |")
    print("|---|---:|---:|---|")
    for name, times, losses in rows:
        later = f"{statistics.median(times[1:]):.2f}" if len(times) > 1 else "-"
        print(f"| {name} | {times[0]:.2f} | {later} | {', '.join(f'{v:.4f}' for v in losses)} |")


if __name__ == "__main__":
    main()
