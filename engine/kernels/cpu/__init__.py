"""numpy kernels with TensorFlow's semantics, one module per op family (as ../shared/op_list)."""
