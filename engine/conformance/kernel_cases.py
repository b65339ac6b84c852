"""A compact set of kernel cases, a few small ones per op with a GL kernel, that `tfgl conformance
--kernels` runs on this machine's driver. Inputs are drawn here; the expected values are computed
when the cases run, by tfgl's CPU kernels in float64 (never written down)."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Rand:
    """Uniform random floats in [low, high)."""
    shape: tuple[int, ...]
    low: float = -3.0
    high: float = 3.0

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, self.shape).astype(np.float32)


@dataclass(frozen=True)
class Ints:
    shape: tuple[int, ...]
    low: int = -5
    high: int = 5

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(self.low, self.high + 1, self.shape).astype(np.int32)


@dataclass(frozen=True)
class Bools:
    shape: tuple[int, ...]

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, 2, self.shape).astype(bool)


def i32(*values) -> np.ndarray:
    return np.array(values, np.int32)


def f32(*values) -> np.ndarray:
    return np.array(values, np.float32)


@dataclass(frozen=True)
class Case:
    op: str
    inputs: tuple[Any, ...]
    attrs: dict = field(default_factory=dict)
    label: str = ""

    def arrays(self) -> list[np.ndarray]:
        """The inputs, the same on every run (drawn from a generator seeded by the case)."""
        rng = np.random.default_rng(zlib.crc32(f"{self.op}/{self.label}".encode()))
        return [x.draw(rng) if hasattr(x, "draw") else np.asarray(x) for x in self.inputs]


def _unary(op: str, low: float = -3.0, high: float = 3.0) -> Case:
    return Case(op, (Rand((2, 3, 5), low, high),))


def _binary(op: str, low: float = -3.0, high: float = 3.0) -> list[Case]:
    return [Case(op, (Rand((2, 3, 4), low, high), Rand((2, 3, 4), low, high)), label="same shape"),
            Case(op, (Rand((2, 1, 4), low, high), Rand((3, 1), low, high)), label="broadcast")]


def _compare(op: str) -> list[Case]:
    return [Case(op, (Ints((3, 4), -2, 2), Ints((4,), -2, 2)), label="int"),
            Case(op, (Rand((3, 4)), Rand((3, 1))), label="float")]


_NHWC = {"strides": [1, 1, 1, 1], "padding": "SAME"}
_NHWC_VALID2 = {"strides": [1, 2, 2, 1], "padding": "VALID"}
_POOL = {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"}
_POOL3D = {"ksize": [1, 2, 2, 2, 1], "strides": [1, 1, 1, 1, 1], "padding": "SAME"}
_AXIS1 = i32(1)
_IMAGE = Rand((1, 5, 6, 3))


def _pooled_pair(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """An input of distinct values and its max pool by windows of 2 with stride 2 on every spatial
    dim (VALID): MaxPoolGrad's inputs must agree, as the forward op's would."""
    rng = np.random.default_rng(zlib.crc32(str(shape).encode()))
    x = rng.permutation(int(np.prod(shape))).astype(np.float32).reshape(shape) / 10
    split = [x.shape[0]] + [d for n in x.shape[1:-1] for d in (n // 2, 2)] + [x.shape[-1]]
    return x, x.reshape(split).max(axis=tuple(range(2, 2 * (x.ndim - 2) + 1, 2)))


_POOLED, _POOLED3D = _pooled_pair((1, 4, 6, 3)), _pooled_pair((1, 4, 4, 4, 2))
_POOL3D_2 = {"ksize": [1, 2, 2, 2, 1], "strides": [1, 2, 2, 2, 1], "padding": "VALID"}
_SPECTRUM = (np.arange(24).reshape(3, 8) % 5 + 1j * (np.arange(24).reshape(3, 8) % 3)).astype(np.complex64)

CASES: list[Case] = [
    *[_unary(op) for op in ("Abs", "Atan", "Ceil", "Cos", "Elu", "Erf", "Exp", "Expm1", "Floor", "Neg", "Relu",
                            "Relu6", "Rint", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Sinh", "Cosh", "Softplus",
                            "Softsign", "Square", "Tanh", "Tan", "Asinh", "IsFinite", "OnesLike", "ZerosLike")],
    *[_unary(op, -0.9, 0.9) for op in ("Acos", "Asin", "Atanh")],
    *[_unary(op, 0.2, 4.0) for op in ("Log", "Log1p", "Rsqrt", "Sqrt", "Reciprocal", "Inv")],
    _unary("Acosh", 1.1, 4.0),
    Case("IsNan", (f32(0.0, np.nan, np.inf, -1.0),)), Case("IsInf", (f32(0.0, np.nan, np.inf, -np.inf),)),
    Case("LeakyRelu", (Rand((2, 3, 5)),), {"alpha": 0.3}),
    Case("Cast", (Rand((3, 4)),), {"DstT": "int32"}), Case("Cast", (Ints((3, 4)),), {"DstT": "float32"}, "int"),
    Case("ClipByValue", (Rand((3, 4)), f32(-1.0), f32(1.5))),
    *[c for op in ("Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum", "SquaredDifference", "Atan2")
      for c in _binary(op)],
    *[c for op in ("Div", "RealDiv", "DivNoNan", "FloorDiv", "FloorMod", "Mod") for c in _binary(op, 0.5, 4.0)],
    *_binary("Pow", 0.5, 2.0),
    Case("AddN", (Rand((2, 3)), Rand((2, 3)), Rand((2, 3)))),
    Case("BiasAdd", (Rand((2, 3, 4)), Rand((4,)))),
    Case("Prelu", (Rand((2, 3, 4)), Rand((4,), 0.1, 0.5))),
    *[c for op in ("Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual") for c in _compare(op)],
    *[Case(op, (Bools((3, 4)), Bools((4,)))) for op in ("LogicalAnd", "LogicalOr")],
    Case("LogicalNot", (Bools((3, 4)),)),
    *[Case(op, (Ints((3, 4), 0, 255), Ints((3, 4), 0, 255))) for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor")],
    Case("Invert", (Ints((3, 4), 0, 255),), {"T": "int32"}),
    Case("Select", (Bools((3, 4)), Rand((3, 4)), Rand((3, 4)))),
    Case("SelectV2", (Bools((4,)), Rand((3, 4)), Rand((3, 1)))),
    *[Case(op, (Rand((3, 4, 5)), _AXIS1), {"keep_dims": keep}, f"keep_dims={keep}")
      for op in ("Sum", "Mean", "Max", "Min", "Prod", "EuclideanNorm") for keep in (False, True)],
    *[Case(op, (Bools((3, 4, 5)), i32(2))) for op in ("All", "Any")],
    *[Case(op, (Rand((3, 7)), i32(1)), {"output_type": "int32"}) for op in ("ArgMax", "ArgMin")],
    *[Case(op, (Rand((3, 5)), i32(1)), {"exclusive": exclusive, "reverse": reverse}, f"{exclusive}/{reverse}")
      for op in ("Cumsum", "Cumprod") for exclusive in (False, True) for reverse in (False, True)],
    Case("Softmax", (Rand((3, 6)),)), Case("LogSoftmax", (Rand((3, 6)),)),
    *[Case(op, (Rand((2, 3, 4)), Rand((2, 4, 5)))) for op in ("BatchMatMul", "BatchMatMulV2")],
    Case("MatMul", (Rand((3, 4)), Rand((5, 4))), {"transpose_b": True}),
    Case("_FusedMatMul", (Rand((3, 4)), Rand((4, 5)), Rand((5,))), {"fused_ops": ["BiasAdd", "Relu"]}),
    Case("Einsum", (Rand((3, 4)), Rand((4, 5))), {"equation": "ij,jk->ik"}),
    Case("MatrixBandPart", (Rand((4, 5)), i32(1), i32(2))),
    Case("Conv2D", (_IMAGE, Rand((3, 3, 3, 4))), _NHWC),
    Case("Conv2D", (_IMAGE, Rand((2, 2, 3, 2))), _NHWC_VALID2, "stride 2"),
    Case("_FusedConv2D", (_IMAGE, Rand((3, 3, 3, 4)), Rand((4,))), {**_NHWC, "fused_ops": ["BiasAdd", "Relu6"]}),
    Case("Conv1D", (Rand((1, 7, 3)), Rand((3, 3, 2))), {"stride": 1, "padding": "SAME"}),
    Case("Conv3D", (Rand((1, 4, 4, 4, 2)), Rand((2, 2, 2, 2, 3))), {"strides": [1] * 5, "padding": "VALID"}),
    Case("Conv2DBackpropInput", (i32(1, 5, 6, 3), Rand((3, 3, 3, 4)), Rand((1, 5, 6, 4))), _NHWC),
    *[Case(op, (_IMAGE, Rand((3, 3, 3, 2))), _NHWC) for op in ("DepthwiseConv2d", "DepthwiseConv2dNative")],
    Case("FusedDepthwiseConv2dNative", (_IMAGE, Rand((3, 3, 3, 2)), Rand((6,))),
         {**_NHWC, "fused_ops": ["BiasAdd", "Relu"]}),
    Case("Dilation2D", (_IMAGE, Rand((2, 2, 3))), {"strides": [1, 1, 1, 1], "rates": [1, 1, 1, 1], "padding": "SAME"}),
    *[Case(op, (Rand((1, 4, 6, 3)),), _POOL) for op in ("AvgPool", "MaxPool", "MaxPoolWithArgmax")],
    *[Case(op, (Rand((1, 3, 4, 4, 2)),), _POOL3D) for op in ("AvgPool3D", "MaxPool3D")],
    *[Case(op, (Rand((2, 3, 4)), Rand((4,), 0.5, 1.5), Rand((4,)), Rand((4,)), Rand((4,), 0.5, 2.0)),
           {"epsilon": 1e-3}) for op in ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")],
    Case("LRN", (Rand((1, 3, 3, 6)),), {"depth_radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75}),
    *[Case(op, (Rand((1, 4, 5, 2)), i32(7, 3)), {"half_pixel_centers": True})
      for op in ("ResizeBilinear", "ResizeNearestNeighbor")],
    Case("CropAndResize", (_IMAGE, f32(0.1, 0.2, 0.8, 0.9, 0.0, 0.0, 1.0, 0.5).reshape(2, 4), i32(0, 0), i32(3, 4))),
    Case("ImageProjectiveTransformV3", (_IMAGE, f32(1.0, 0.1, 0.5, -0.1, 1.0, 0.2, 0.0, 0.0).reshape(1, 8),
                                        i32(5, 6), f32(0.0)), {"interpolation": "BILINEAR"}),
    Case("Fill", (i32(2, 3), f32(1.5))),
    *[Case(op, (i32(2, 3),), {"T": "float32"}) for op in ("Ones", "Zeros")],
    Case("OneHot", (Ints((4,), 0, 3), i32(4), f32(1.0), f32(0.0))),
    Case("Complex", (Rand((3,)), Rand((3,)))),
    *[Case(op, ((np.arange(3) + 1j * np.arange(3, 6)).astype(np.complex64),)) for op in ("ComplexAbs", "Real", "Imag")],
    *[Case(op, (Ints((8,), 0, 4), i32(5), Rand((8,)))) for op in ("Bincount", "DenseBincount")],
    Case("BroadcastArgs", (i32(2, 1), i32(3))),
    Case("BroadcastTo", (Rand((3, 1)), i32(2, 3, 4))),
    Case("ConcatV2", (Rand((2, 3)), Rand((2, 4)), i32(1))),
    Case("Concat", (i32(0), Rand((2, 3)), Rand((1, 3)))),
    Case("Pack", (Rand((2, 3)), Rand((2, 3))), {"axis": 1}),
    Case("Unpack", (Rand((2, 3)),), {"axis": 1}),
    Case("Split", (i32(1), Rand((2, 6))), {"num_split": 3}),
    Case("SplitV", (Rand((2, 6)), i32(1, 2, 3), i32(1))),
    Case("Slice", (Rand((3, 4, 5)), i32(1, 0, 2), i32(2, -1, 2))),
    Case("StridedSlice", (Rand((5, 6)), i32(1, 5), i32(5, 0), i32(2, -2))),
    Case("Gather", (Rand((4, 3)), i32(2, 0, 3, 1))),
    Case("GatherV2", (Rand((4, 3)), i32(2, 0, 1), i32(1))),
    Case("GatherNd", (Rand((4, 3)), i32(0, 1, 3, 2).reshape(2, 2))),
    Case("ScatterNd", (i32(0, 2).reshape(2, 1), Rand((2, 3)), i32(4, 3))),
    Case("TensorScatterUpdate", (Rand((4, 3)), i32(1, 3).reshape(2, 1), Rand((2, 3)))),
    Case("SparseToDense", (i32(0, 2, 3).reshape(3, 1), i32(5), Rand((3,)), f32(0.5))),
    Case("Pad", (Rand((2, 3)), i32(1, 0, 2, 1).reshape(2, 2))),
    Case("PadV2", (Rand((2, 3)), i32(1, 0, 2, 1).reshape(2, 2), f32(-1.0))),
    *[Case("MirrorPad", (Rand((3, 4)), i32(1, 2, 2, 1).reshape(2, 2)), {"mode": mode}, mode)
      for mode in ("REFLECT", "SYMMETRIC")],
    Case("ReverseV2", (Rand((2, 3, 4)), i32(1))),
    Case("Reverse", (Rand((2, 3, 4)), np.array([False, True, True]))),
    Case("Tile", (Rand((2, 3)), i32(2, 2))),
    Case("Transpose", (Rand((2, 3, 4)), i32(2, 0, 1))),
    Case("BatchToSpaceND", (Rand((4, 2, 2, 1)), i32(2, 2), i32(0, 0, 0, 0).reshape(2, 2))),
    Case("SpaceToBatchND", (Rand((1, 4, 4, 1)), i32(2, 2), i32(0, 0, 0, 0).reshape(2, 2))),
    Case("DepthToSpace", (Rand((1, 2, 2, 8)),), {"block_size": 2}),
    Case("SpaceToDepth", (Rand((1, 4, 4, 2)),), {"block_size": 2}),
    # -- TF.js's image and evaluation kernels, spectral ops, sampling --
    Case("Step", (Rand((2, 3, 5)),), {"alpha": 0.25}),
    Case("Diag", (Rand((3,)),)),
    Case("UnsortedSegmentSum", (Rand((6, 3)), i32(0, 4, 4, 1, 2, 0), i32(5))),
    Case("FlipLeftRight", (_IMAGE,)),
    Case("RotateWithOffset", (_IMAGE,), {"radians": 0.5, "fill_value": 0.25, "center": 0.5}),
    Case("TopKV2", (Rand((3, 10)), i32(4))),
    *[Case(op, (np.sort(Rand((2, 6)).draw(np.random.default_rng(7)), axis=1), Rand((2, 4))), {"out_type": "int32"})
      for op in ("LowerBound", "UpperBound")],
    Case("Multinomial", (Rand((2, 5)), i32(20)), {"seed": 1, "seed2": 2, "output_dtype": "int32"}),
    *[Case(op, (_SPECTRUM,)) for op in ("FFT", "IFFT")],
    Case("RFFT", (Rand((2, 8)), i32(8))),
    Case("IRFFT", (_SPECTRUM[:, :5], i32(8))),
    # -- gradients --
    *[c for op in ("ReluGrad", "Relu6Grad", "EluGrad", "SeluGrad", "SigmoidGrad", "TanhGrad", "SoftplusGrad",
                   "SoftsignGrad") for c in _binary(op, -0.9, 3.0)],
    *[c for op in ("SqrtGrad", "RsqrtGrad", "ReciprocalGrad", "InvGrad") for c in _binary(op, 0.2, 3.0)[:1]],
    Case("LeakyReluGrad", (Rand((2, 3, 4)), Rand((2, 3, 4))), {"alpha": 0.3}),
    Case("BiasAddGrad", (Rand((2, 3, 4)),)),
    Case("Conv2DBackpropFilter", (_IMAGE, i32(3, 3, 3, 4), Rand((1, 5, 6, 4))), _NHWC),
    Case("DepthwiseConv2dNativeBackpropFilter", (_IMAGE, i32(3, 3, 3, 2), Rand((1, 5, 6, 6))), _NHWC),
    Case("DepthwiseConv2dNativeBackpropInput", (i32(1, 5, 6, 3), Rand((3, 3, 3, 2)), Rand((1, 5, 6, 6))), _NHWC),
    Case("Conv3DBackpropFilterV2", (Rand((1, 4, 4, 4, 2)), i32(2, 2, 2, 2, 3), Rand((1, 3, 3, 3, 3))),
         {"strides": [1] * 5, "padding": "VALID"}),
    Case("Conv3DBackpropInputV2", (i32(1, 4, 4, 4, 2), Rand((2, 2, 2, 2, 3)), Rand((1, 3, 3, 3, 3))),
         {"strides": [1] * 5, "padding": "VALID"}),
    Case("MaxPoolGrad", (*_POOLED, Rand(_POOLED[1].shape)), _POOL),
    Case("MaxPool3DGrad", (*_POOLED3D, Rand(_POOLED3D[1].shape)), _POOL3D_2),
    Case("AvgPoolGrad", (i32(1, 4, 6, 3), Rand((1, 2, 3, 3))), _POOL),
    Case("AvgPool3DGrad", (i32(1, 3, 4, 4, 2), Rand((1, 3, 4, 4, 2))), _POOL3D),
    Case("LRNGrad", (Rand((1, 3, 3, 6)), Rand((1, 3, 3, 6), 0.1, 2.0), Rand((1, 3, 3, 6), 0.1, 2.0)),
         {"depth_radius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75}),
    Case("ResizeBilinearGrad", (Rand((1, 7, 3, 2)), Rand((1, 4, 5, 2))), {"half_pixel_centers": True}),
    Case("ResizeNearestNeighborGrad", (Rand((1, 7, 3, 2)), i32(4, 5)), {"half_pixel_centers": True}),
]
