// Needs lib_exp.glsl. fdlibm's sinhf: through expm1 below 10 (no cancellation for small |x|), 0.5 e^|x|
// up to exp's overflow, then (0.5 e^(|x|/2)) e^(|x|/2), which stays finite up to sinh's own overflow.
float unary_op(float x) {
  if (isnan_custom(x) || isinf_custom(x) || x == 0.0) return x;
  float a = abs(x);
  float r;
  if (a < 1.0) { float t = tfgl_expm1(a); r = 0.5 * (2.0 * t - t * t / (t + 1.0)); }
  else if (a < 10.0) { float t = tfgl_expm1(a); r = 0.5 * (t + t / (t + 1.0)); }
  else if (a <= TFGL_EXP_OVERFLOW) r = 0.5 * tfgl_exp(a);
  else { float w = tfgl_exp(0.5 * a); r = (0.5 * w) * w; }
  return x < 0.0 ? -r : r;
}
