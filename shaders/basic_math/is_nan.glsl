float unary_op(float x) { return isnan_custom(x) ? 1.0 : 0.0; }
