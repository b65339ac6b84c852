float unary_op(float x) { return isinf_custom(x) ? 1.0 : 0.0; }
