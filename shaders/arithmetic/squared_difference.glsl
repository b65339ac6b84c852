float binary_op(float a, float b) { float d = a - b; return d * d; }
