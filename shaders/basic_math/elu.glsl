// Needs lib_exp.glsl. x for x > 0, else expm1(x) (accurate near 0, -1 for -inf).
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return x > 0.0 ? x : tfgl_expm1(x);
}
