"""The losses against Keras 3's: the batch-mean value and its gradient with respect to the
predictions (tf.GradientTape), on every backend."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import engine
from engine.autodiff import GradientTape
from engine.errors import InputError
from engine.losses import Loss
from tests.kernels.harness import assert_close, tf

pytestmark = pytest.mark.tf


def probabilities(rng, shape):
    logits = rng.normal(size=shape) * 2
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def one_hot(rng, shape):
    return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]


# (name, settings, Keras class, targets maker, predictions maker)
CASES = [
    ("mse", {}, "MeanSquaredError", lambda r, s: r.normal(size=s), lambda r, s: r.normal(size=s)),
    ("mae", {}, "MeanAbsoluteError", lambda r, s: r.normal(size=s), lambda r, s: r.normal(size=s)),
    ("huber", {}, "Huber", lambda r, s: r.normal(size=s), lambda r, s: r.normal(size=s) * 2),
    ("huber", {"delta": 0.5}, "Huber", lambda r, s: r.normal(size=s), lambda r, s: r.normal(size=s) * 2),
    ("categorical_crossentropy", {}, "CategoricalCrossentropy", one_hot, probabilities),
    ("categorical_crossentropy", {"from_logits": True}, "CategoricalCrossentropy", one_hot,
     lambda r, s: r.normal(size=s) * 3),
    ("sparse_categorical_crossentropy", {}, "SparseCategoricalCrossentropy",
     lambda r, s: r.integers(0, s[-1], s[:-1]), probabilities),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "SparseCategoricalCrossentropy",
     lambda r, s: r.integers(0, s[-1], (*s[:-1], 1)), lambda r, s: r.normal(size=s) * 3),
    ("binary_crossentropy", {}, "BinaryCrossentropy", lambda r, s: r.integers(0, 2, s),
     lambda r, s: r.uniform(0, 1, s)),
    ("binary_crossentropy", {"from_logits": True}, "BinaryCrossentropy", lambda r, s: r.uniform(0, 1, s),
     lambda r, s: r.normal(size=s) * 3),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("shape", [(6, 4), (2, 3, 5)])
def test_loss_and_gradient_match_keras(backend, rng, case, shape):
    name, settings, keras_class, targets, predictions = case
    y_true, y_pred = targets(rng, shape), predictions(rng, shape).astype(np.float32)
    if name == "binary_crossentropy" and not settings:
        y_pred[0, 0] = 1.0  # clipped: the gradient there is 0 in both
    impl = engine.get_backend(backend)
    prediction = engine.tensor(y_pred)
    tape = GradientTape()
    with tape:
        tape.watch(prediction)
        loss = Loss(name, **settings)(y_true, prediction, impl)
    [grad] = tape.gradient(loss, [prediction])
    t = tf()
    watched = t.constant(y_pred)
    with t.GradientTape() as reference:
        reference.watch(watched)
        want = getattr(keras.losses, keras_class)(**settings)(y_true, watched)
    assert_close(loss.numpy(), want.numpy(), rtol=1e-5, atol=1e-6, what=f"{name} on {backend}")
    assert_close(grad.numpy(), reference.gradient(want, watched).numpy(), rtol=1e-4, atol=1e-7,
                 what=f"d{name} on {backend}")


def test_bad_targets_are_clear(rng):
    cpu = engine.get_backend("cpu")
    prediction = engine.tensor(probabilities(rng, (3, 4)))
    with pytest.raises(InputError, match="unknown loss 'hinge'"):
        Loss("hinge")
    with pytest.raises(InputError, match="targets of shape"):
        Loss("mse")(np.zeros((3, 5)), prediction, cpu)
    with pytest.raises(InputError, match=r"class ids must be in \[0, 4\)"):
        Loss("sparse_categorical_crossentropy")(np.array([0, 4, 1]), prediction, cpu)
