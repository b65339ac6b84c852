// 0 where the divisor is 0, even for NaN or Inf numerators.
float binary_op(float a, float b) { return b == 0.0 ? 0.0 : a / b; }
