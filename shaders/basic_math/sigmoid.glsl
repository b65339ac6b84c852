// Needs lib_exp.glsl. Through e = exp(-|x|) so that nothing overflows: 1 / (1 + e) for x >= 0 and
// e / (1 + e) below, which keeps the relative accuracy of tiny results.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  float e = tfgl_exp(-abs(x));
  return (x >= 0.0 ? 1.0 : e) / (1.0 + e);
}
