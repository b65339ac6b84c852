"""Arguments of the creation family: OneHot's depth and axis, and the random draws behind Multinomial's
samples, which both backends share."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.kernels.resolve.values import checked_size, scalar


def one_hot_depth(depth, axis: int, indices_rank: int) -> int:
    """OneHot's depth (a non-negative scalar input), once `axis` is checked against the output rank
    (-1: last)."""
    depth = int(scalar(depth))
    if depth < 0:
        raise ValueError(f"OneHot: depth must be non-negative, got {depth}")
    rank = indices_rank + 1
    if not -1 <= axis < rank:
        raise ValueError(f"OneHot: axis {axis} is out of range for output rank {rank}")
    return depth


def random_generator(seed: int, seed2: int) -> np.random.Generator:
    """Seeded by (seed, seed2) when either is nonzero, else by fresh entropy, as TF's unseeded ops."""
    if seed or seed2:
        return np.random.default_rng([seed % 2**64, seed2 % 2**64])
    return np.random.default_rng()


def multinomial_count(logits_shape: Sequence[int], num_samples) -> int:
    """Multinomial's num_samples, once the logits are checked to be [batch, classes > 0] and the
    [batch, num_samples] output to fit engine.io.Limits."""
    count = int(scalar(num_samples))
    if len(logits_shape) != 2 or logits_shape[1] == 0 or count < 0:
        raise ValueError(f"Multinomial: needs [batch, classes > 0] logits and num_samples >= 0, got "
                         f"{list(logits_shape)} and {count}")
    checked_size("Multinomial's samples", (logits_shape[0], count))
    return count


def multinomial_uniforms(seed: int, seed2: int, batch: int, count: int) -> np.ndarray:
    """The [batch, count] uniforms in [0, 1) that pick Multinomial's samples: every backend draws them
    here, so that a seed gives the same samples on each."""
    return random_generator(seed, seed2).random((batch, count))
