// On the two's-complement ints; integers are exact in float storage within 2^24.
float binary_op(float a, float b) { return float(int(a) | int(b)); }
