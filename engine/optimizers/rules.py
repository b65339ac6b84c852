"""Keras 3's optimizers' update rules and defaults (keras/src/optimizers), each step in float32 in
Keras's order of operations, so weights follow Keras's step by step."""
from __future__ import annotations

import numpy as np

from engine.errors import InputError
from engine.optimizers.base import Arithmetic, Optimizer
from engine.tensors import Tensor


class SGD(Optimizer):
    """m = momentum * m - lr * g; w += m, or with Nesterov w += momentum * m - lr * g (no momentum:
    w -= lr * g)."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__(learning_rate)
        if not 0 <= momentum <= 1:
            raise InputError(f"momentum must be in [0, 1], got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.slots = (("momentum", 0.0),) if self.momentum else ()

    def update(self, math: Arithmetic, weight: Tensor, grad: Tensor, slots: dict) -> tuple[Tensor, dict]:
        step = math.mul(grad, self.learning_rate)
        if not self.momentum:
            return math.sub(weight, step), slots
        m = math.sub(math.mul(slots["momentum"], self.momentum), step)
        change = math.sub(math.mul(m, self.momentum), step) if self.nesterov else m
        return math.add(weight, change), {"momentum": m}


class Adam(Optimizer):
    """m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); w -= m * alpha / (sqrt(v) + epsilon) with
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); amsgrad divides by the running max of v."""

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False):
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad
        self.slots = (("m", 0.0), ("v", 0.0)) + ((("v_hat", 0.0),) if amsgrad else ())

    def update(self, math: Arithmetic, weight: Tensor, grad: Tensor, slots: dict) -> tuple[Tensor, dict]:
        f32 = np.float32
        t = f32(self.iterations + 1)
        beta_1_power, beta_2_power = f32(self.beta_1) ** t, f32(self.beta_2) ** t
        alpha = f32(self.learning_rate) * np.sqrt(f32(1) - beta_2_power) / (f32(1) - beta_1_power)
        m = math.add(slots["m"], math.mul(math.sub(grad, slots["m"]), 1 - self.beta_1))
        v = math.add(slots["v"], math.mul(math.sub(math.square(grad), slots["v"]), 1 - self.beta_2))
        new_slots = {"m": m, "v": v}
        if self.amsgrad:
            v = new_slots["v_hat"] = math.maximum(slots["v_hat"], v)
        step = math.div(math.mul(m, float(alpha)), math.add(math.sqrt(v), self.epsilon))
        return math.sub(weight, step), new_slots


class RMSprop(Optimizer):
    """v = rho v + (1 - rho) g^2 (centered: minus the square of the running mean gradient);
    w -= lr g / sqrt(v + epsilon), through a momentum slot when momentum > 0."""

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False):
        super().__init__(learning_rate)
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), float(momentum), float(epsilon), centered
        self.slots = (("velocity", 0.0),) + ((("momentum", 0.0),) if self.momentum > 0 else ()) + \
            ((("average_gradient", 0.0),) if centered else ())

    def update(self, math: Arithmetic, weight: Tensor, grad: Tensor, slots: dict) -> tuple[Tensor, dict]:
        velocity = math.add(math.mul(self.rho, slots["velocity"]), math.mul(1 - self.rho, math.square(grad)))
        new_slots = {"velocity": velocity}
        if self.centered:
            average = math.add(math.mul(self.rho, slots["average_gradient"]), math.mul(1 - self.rho, grad))
            new_slots["average_gradient"] = average
            denominator = math.add(math.sub(velocity, math.square(average)), self.epsilon)
        else:
            denominator = math.add(velocity, self.epsilon)
        increment = math.div(math.mul(self.learning_rate, grad), math.sqrt(denominator))
        if self.momentum > 0:
            increment = new_slots["momentum"] = math.add(math.mul(self.momentum, slots["momentum"]), increment)
        return math.sub(weight, increment), new_slots


class Adagrad(Optimizer):
    """a += g^2; w -= lr g / sqrt(a + epsilon), a starting at initial_accumulator_value."""

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7):
        super().__init__(learning_rate)
        self.epsilon, self.initial_accumulator_value = float(epsilon), float(initial_accumulator_value)
        self.slots = (("accumulator", self.initial_accumulator_value),)

    def update(self, math: Arithmetic, weight: Tensor, grad: Tensor, slots: dict) -> tuple[Tensor, dict]:
        accumulator = math.add(slots["accumulator"], math.square(grad))
        step = math.div(math.mul(self.learning_rate, grad), math.sqrt(math.add(accumulator, self.epsilon)))
        return math.sub(weight, step), {"accumulator": accumulator}
