"""Argument resolution shared by every backend's kernels (numpy only, no GL).

The CPU kernels (kernels/cpu) and the GL kernels (kernels/webgl) call these functions to turn an
op's raw inputs and attrs into validated Python values: axes, scalars, int lists, shapes, paddings,
split sizes, slice ranges, index positions, resize scales. Each raises ValueError with the message
TensorFlow-like users see from both backends, so the two reject the same arguments the same way.
Inputs are numpy arrays (a GL kernel passes `tensor.numpy()` of a shape-like input), Python ints
and shapes (tuples), never tensors of a backend.

Modules follow the op families of kernels/cpu and kernels/webgl:
  values          scalars, int lists, shapes, axis normalization, reduction axes
  slice_join      concat/split/slice/strided slice specs, gather/scatter index checks and positions
  transformation  Cast's float -> int rules, pad pairs (MirrorPad limits), space/batch/depth moves
  creation        OneHot's depth and axis
  image           resize scales, CropAndResize and ImageProjectiveTransformV3 arguments
  logical         Select's condition shape
  matrices        MatrixBandPart's bounds
  reduction       ArgMax/ArgMin's axis, Bincount's size and values
Window geometry (convolutions, pooling, Conv2DBackpropInput's input sizes) is in kernels/conv_util.py.
"""
