// |x| by clearing the sign bit: exact for floats and integers; NaN stays NaN.
float unary_op(float x) { return uintBitsToFloat(floatBitsToUint(x) & 0x7fffffffu); }
