// Needs lib_exp.glsl. Accurate for small x (no exp(x) - 1 cancellation); keeps the sign of zero.
float unary_op(float x) {
  if (x == 0.0) return x;
  return tfgl_expm1(x);
}
