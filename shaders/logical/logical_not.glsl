float unary_op(float x) { return x == 0.0 ? 1.0 : 0.0; }
