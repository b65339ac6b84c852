float binary_op(float a, float b) { return a + b; }
