"""The epilogue of fused GL kernels (_FusedMatMul, _FusedConv2D, ...): TensorFlow's `fused_ops` list
and extra inputs mapped onto shaders/common/activations.glsl.

`fused_epilogue(fused_ops, args)` gives the defines (FUSED_EPILOGUE, HAS_BATCHNORM, BN_EPSILON,
HAS_BIAS, HAS_ADDEND, ACTIVATION), the shader files to put before the kernel's own, the uniforms
(LeakyRelu's slope), the sampler names to append to the program's inputs and the tensors to pass
for them. The kernel's shader ends with `setOutput(fusedEpilogue(value))`; the extra inputs are
read broadcast against the output coordinates (getXAtOutCoords), so the caller aligns them to its
output (`align`), e.g. a per-channel bias of an NCHW convolution reshaped to (C, 1, 1).

The activation is the standalone op's own shader (one definition per activation, so a fused op
gives what the op after the contraction gives): ACTIVATIONS lists it with its libraries.

Supported: an inference batch norm ('FusedBatchNorm': scale, offset, mean, variance; only when the
caller passes `epsilon`, and only first), addends ('BiasAdd', then optionally 'Add'), then at most
one activation, as grappler and TF.js fuse them. Anything else (an addition after the activation,
a batch norm after an addition) raises CPUFallback so the CPU kernel (engine/kernels/cpu/fused.py)
runs the op.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Sequence

from engine.tensors import Tensor
from engine.webgl.program import CPUFallback


@dataclass(frozen=True)
class Activation:
    code: int                       # ACTIVATION in common/activations.glsl
    shaders: tuple[str, ...] = ()   # the standalone op's shader, after its libraries


ACTIVATIONS = {
    "linear": Activation(0), "identity": Activation(0),
    "relu": Activation(1, ("basic_math/relu.glsl",)),
    "relu6": Activation(2, ("basic_math/relu6.glsl",)),
    "elu": Activation(3, ("basic_math/lib_exp.glsl", "basic_math/elu.glsl")),
    "sigmoid": Activation(4, ("basic_math/lib_exp.glsl", "basic_math/sigmoid.glsl")),
    "tanh": Activation(5, ("basic_math/lib_exp.glsl", "basic_math/tanh.glsl")),
    "leakyrelu": Activation(6, ("basic_math/leaky_relu.glsl",)),
    "prelu": Activation(7, ("basic_math/prelu.glsl",)),
}
ADDEND_SAMPLERS = ("Bias", "Addend")
PRELU_SAMPLER = "PreluAlpha"
BATCHNORM_SAMPLERS = ("BnScale", "BnOffset", "BnMean", "BnVariance")  # FusedBatchNorm's args, in order


@dataclass(frozen=True)
class FusedEpilogue:
    defines: dict = field(default_factory=dict)
    inputs: tuple[str, ...] = ()          # sampler names, to follow the kernel's own inputs
    tensors: tuple[Tensor, ...] = ()      # the tensors for those samplers, in the same order
    shaders: tuple[str, ...] = ()         # to put before the kernel's shader
    uniforms: dict = field(default_factory=dict)

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
    chosen = ACTIVATIONS[activation or "linear"]
    defines = {"FUSED_EPILOGUE": 1, "HAS_BATCHNORM": bool(batchnorm), "HAS_BIAS": len(addends) >= 1,
               "HAS_ADDEND": len(addends) >= 2, "ACTIVATION": chosen.code}
    if batchnorm:
        defines["BN_EPSILON"] = float(epsilon)
    # A uniform (declared by leaky_relu.glsl), as the standalone op's: every slope shares one program.
    uniforms = {"leakyReluAlpha": float(leakyrelu_alpha)} if activation == "leakyrelu" else {}
    return FusedEpilogue(defines, names, tuple(tensors), chosen.shaders + ("common/activations.glsl",), uniforms)
