"""numpy kernels with TensorFlow's semantics, one module per op family (as ../shared/op_list)."""
from engine.kernels.cpu import (  # noqa: F401  (importing registers the kernels)
    arithmetic, basic_math, control, convolution, creation, dynamic, evaluation, image, logical, matrices,
    normalization, reduction, slice_join, spectral, transformation,
)
