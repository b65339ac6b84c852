float unary_op(float x) { return (isnan_custom(x) || isinf_custom(x)) ? 0.0 : 1.0; }
