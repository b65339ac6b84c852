float binary_op(float a, float b) { return floor(a / b); }
