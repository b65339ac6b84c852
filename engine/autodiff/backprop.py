"""GradientTape and gradients(): record a computation, then walk its ops backward."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine import tape as tapes
from engine.autodiff import register_all  # noqa: F401  (every gradient definition)
from engine.autodiff.grad import Grad
from engine.autodiff.registry import gradient_for
from engine.errors import GradientError
from engine.kernels import register_all as kernels  # noqa: F401  (the backward kernels)
from engine.tensors import Tensor


class GradientTape:
    """Records the ops run on watched tensors, as tf.GradientTape:

        with GradientTape() as tape:
            tape.watch(w)
            loss = ops.sum(ops.mat_mul(x, w), [0, 1])
        [dw] = tape.gradient(loss, [w])
    """

    def __init__(self) -> None:
        self._tape = tapes.Tape()
        self._recording = None
        self._used = False

    def watch(self, *tensors: Tensor) -> None:
        for tensor in tensors:
            if not isinstance(tensor, Tensor) or tensor.dtype != "float32":
                raise GradientError(f"only float32 tensors can be watched, not {tensor!r}")
            self._tape.watch(tensor)

    def __enter__(self) -> GradientTape:
        self._recording = tapes.recording(self._tape)
        self._recording.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._recording.__exit__(*exc)
        self._recording = None

    def gradient(self, target: Tensor, sources: Sequence[Tensor],
                 output_gradient: Tensor | None = None) -> list[Tensor | None]:
        """d target / d source for each source (None where the target does not depend on it); the
        target's gradient is `output_gradient`, ones by default (a sum of the target)."""
        if self._recording is not None:
            raise GradientError("call gradient() after the tape's `with` block")
        if self._used:
            raise GradientError("a tape gives gradients once (its recorded tensors are released then)")
        self._used = True
        try:
            return backpropagate(self._tape, target, list(sources), output_gradient)
        finally:
            self._tape = tapes.Tape()


def gradients(loss_fn: Callable[[], Tensor], variables: Sequence[Tensor]) -> tuple[Tensor, list[Tensor | None]]:
    """(loss, [d loss / d variable]) for a function of `variables` (TF.js's variableGrads)."""
    tape = GradientTape()
    with tape:
        tape.watch(*variables)
        loss = loss_fn()
    return loss, tape.gradient(loss, variables)


def backpropagate(tape: tapes.Tape, target: Tensor, sources: list[Tensor],
                  output_gradient: Tensor | None) -> list[Tensor | None]:
    if not isinstance(target, Tensor) or target.dtype != "float32":
        raise GradientError(f"the target must be a float32 tensor, not {target!r}")
    if output_gradient is None:
        output_gradient = Tensor(np.ones(target.shape, np.float32), "float32")
    elif tuple(output_gradient.shape) != tuple(target.shape):
        raise GradientError(f"output_gradient has shape {list(output_gradient.shape)}, the target "
                            f"{list(target.shape)}")
    records = _leading_to(tape.records, target)
    grads: dict[int, Tensor] = {id(target): output_gradient}
    kept = {id(source) for source in sources}
    for record in reversed(records):
        # a tensor's gradient is complete once the op that made it is reached: let it go, unless asked for
        dys = [(grads.get if id(out) in kept else grads.pop)(id(out), None) if isinstance(out, Tensor) else None
               for out in record.outputs]
        if all(dy is None for dy in dys):
            continue
        definition = gradient_for(record.op)
        if definition is None:
            raise GradientError(f"no gradient is defined for op {record.op}")
        dys = [dy if dy is not None or not isinstance(out, Tensor) else _zeros(out)
               for dy, out in zip(dys, record.outputs)]
        wanted = [isinstance(x, Tensor) and tape.tracks(x) for x in record.inputs]
        dxs = list(definition(Grad(record, dys, wanted)))
        if len(dxs) != len(record.inputs):
            raise GradientError(f"the gradient of {record.op} gave {len(dxs)} values for {len(record.inputs)} inputs")
        for x, dx, want in zip(record.inputs, dxs, wanted):
            if dx is None or not want:
                continue
            if tuple(dx.shape) != tuple(x.shape):
                raise GradientError(f"the gradient of {record.op} gave shape {list(dx.shape)} for an input of "
                                    f"shape {list(x.shape)}")
            previous = grads.get(id(x))
            grads[id(x)] = dx if previous is None else record.backend.run("AddV2", [previous, dx])[0]
    return [grads.get(id(source)) for source in sources]


def _leading_to(records: list[tapes.Record], target: Tensor) -> list[tapes.Record]:
    """The records whose outputs the target depends on (TF.js's getFilteredNodesXToY, backward half;
    the tape kept only ops that depend on a watched tensor)."""
    needed, kept = {id(target)}, []
    for record in reversed(records):
        if any(id(out) in needed for out in record.outputs):
            kept.append(record)
            needed.update(id(x) for x in record.inputs if isinstance(x, Tensor))
    kept.reverse()
    return kept


def _zeros(like: Tensor) -> Tensor:
    return Tensor(np.zeros(like.shape, np.float32), "float32")
