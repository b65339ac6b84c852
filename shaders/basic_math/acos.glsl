// Needs lib_inverse_trig.glsl. Near +-1 through acos(x) = 2 asin(sqrt((1 - x) / 2)) (and pi minus that
// for x < -1/2), where pi/2 - asin(x) would cancel; |x| > 1 gives NaN.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  if (abs(x) > 1.0) return NAN;
  if (x < -0.5) return TFGL_PI_HI - (2.0 * tfgl_asin_abs(sqrt(0.5 * (1.0 + x))) - TFGL_PI_LO);
  if (x > 0.5) return 2.0 * tfgl_asin_abs(sqrt(0.5 * (1.0 - x)));
  float s = tfgl_asin_abs(abs(x));
  return (TFGL_PIO2_HI - (x < 0.0 ? -s : s)) + TFGL_PIO2_LO;
}
