float unary_op(float x) { return -x; }
