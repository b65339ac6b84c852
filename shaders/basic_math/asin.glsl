// Needs lib_inverse_trig.glsl. |x| > 1 gives NaN; keeps the sign of zero.
float unary_op(float x) {
  if (isnan_custom(x) || x == 0.0) return x;
  float a = abs(x);
  if (a > 1.0) return NAN;
  float r = tfgl_asin_abs(a);
  return x < 0.0 ? -r : r;
}
