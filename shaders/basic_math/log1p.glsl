// Needs lib_log.glsl. Accurate for small x (no 1 + x rounding); keeps the sign of zero.
float unary_op(float x) {
  if (x == 0.0) return x;
  return tfgl_log1p(x);
}
