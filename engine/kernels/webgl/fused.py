"""The epilogue of fused GL kernels (_FusedMatMul, _FusedConv2D, ...): TensorFlow's `fused_ops` list
and extra inputs mapped onto shaders/common/activations.glsl.

`fused_epilogue(fused_ops, args)` gives the defines (FUSED_EPILOGUE, HAS_BATCHNORM, BN_EPSILON,
HAS_BIAS, HAS_ADDEND, ACTIVATION, LEAKYRELU_ALPHA), the sampler names to append to the program's
inputs and the tensors to pass for them. A kernel shader includes "common/activations.glsl" and
ends with `setOutput(fusedEpilogue(value))`; the extra inputs are read broadcast against the output
coordinates (getXAtOutCoords), so the caller aligns them to its output (`align`), e.g. a
per-channel bias of an NCHW convolution reshaped to (C, 1, 1).

Supported: an inference batch norm ('FusedBatchNorm': scale, offset, mean, variance; only when the
caller passes `epsilon`, and only first), addends ('BiasAdd', then optionally 'Add'), then at most
one activation, as grappler and TF.js fuse them. Anything else (an addition after the activation,
a batch norm after an addition) raises CPUFallback so the CPU kernel (engine/kernels/cpu/fused.py)
runs the op.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from engine.tensors import Tensor
from engine.webgl.program import CPUFallback

ACTIVATIONS = {"linear": 0, "identity": 0, "relu": 1, "relu6": 2, "elu": 3, "sigmoid": 4, "tanh": 5,
               "leakyrelu": 6, "prelu": 7}
ADDEND_SAMPLERS = ("Bias", "Addend")
PRELU_SAMPLER = "PreluAlpha"
BATCHNORM_SAMPLERS = ("BnScale", "BnOffset", "BnMean", "BnVariance")  # FusedBatchNorm's args, in order
SHADER = "common/activations.glsl"


@dataclass(frozen=True)
class FusedEpilogue:
    defines: dict = field(default_factory=dict)
    inputs: tuple[str, ...] = ()          # sampler names, to follow the kernel's own inputs
    tensors: tuple[Tensor, ...] = ()      # the tensors for those samplers, in the same order

    @property
    def empty(self) -> bool:
        return not self.tensors and self.defines.get("ACTIVATION", 0) == 0


def fused_epilogue(fused_ops: Sequence[str], args: Sequence[Tensor], *, leakyrelu_alpha: float = 0.2,
                   epsilon: float | None = None,
                   align: Callable[[Tensor], Tensor] | None = None) -> FusedEpilogue:
    """The epilogue of `fused_ops` taking its extra inputs from `args` in order (as the CPU's
    apply_fused_ops does); `align` maps each extra tensor onto the output's broadcasting.
    `epsilon` is FusedBatchNorm's; without it a batch norm raises CPUFallback."""
    remaining = list(args)
    addends: list[Tensor] = []
    batchnorm: list[Tensor] = []
    activation, prelu = None, None

    def take() -> Tensor:
        if not remaining:
            raise ValueError(f"fused_ops {list(fused_ops)} need more than {len(args)} extra inputs")
        return remaining.pop(0)

    for op in fused_ops:
        name = op.lower()
        if name in ("noop", ""):
            continue
        if name in ("biasadd", "add"):
            if activation is not None:
                raise CPUFallback(f"fused_ops {list(fused_ops)} add after the activation")
            addends.append(take())
        elif name == "fusedbatchnorm":
            if epsilon is None:
                raise CPUFallback("a fused batch norm runs on the CPU")
            if addends or batchnorm or activation is not None:
                raise CPUFallback(f"fused_ops {list(fused_ops)} batch-normalize after another op")
            batchnorm = [take() for _ in BATCHNORM_SAMPLERS]
        elif name in ACTIVATIONS:
            if activation is not None:
                raise CPUFallback(f"fused_ops {list(fused_ops)} chain activations")
            activation = name
            if name == "prelu":
                prelu = take()
        else:
            raise ValueError(f"unsupported fused activation {op!r}")
    if len(addends) > len(ADDEND_SAMPLERS):
        raise CPUFallback(f"fused_ops {list(fused_ops)} add more than {len(ADDEND_SAMPLERS)} tensors")

    tensors = addends + batchnorm + ([prelu] if prelu is not None else [])
    for t in tensors:
        if t.dtype not in ("float32", "int32"):
            raise CPUFallback(f"{t.dtype} fused inputs stay on the CPU")
    if align is not None:
        tensors = [align(t) for t in tensors]
    names = ADDEND_SAMPLERS[:len(addends)] + (BATCHNORM_SAMPLERS if batchnorm else ()) + \
        ((PRELU_SAMPLER,) if prelu is not None else ())
    defines = {"FUSED_EPILOGUE": 1, "HAS_BATCHNORM": bool(batchnorm), "HAS_BIAS": len(addends) >= 1,
               "HAS_ADDEND": len(addends) >= 2, "ACTIVATION": ACTIVATIONS[activation or "linear"]}
    if batchnorm:
        defines["BN_EPSILON"] = float(epsilon)
    if activation == "leakyrelu":
        defines["LEAKYRELU_ALPHA"] = float(leakyrelu_alpha)
    return FusedEpilogue(defines, names, tuple(tensors))
