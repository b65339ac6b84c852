// Needs lib_log.glsl. fdlibm's acoshf: log1p(t + sqrt(2t + t^2)) with t = x - 1 (exact) up to 2,
// log(2x - 1 / (x + sqrt(x^2 - 1))) up to 2^12, then log(x) + ln2 (no x^2 overflow); x < 1 gives NaN.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  if (x < 1.0) return NAN;
  if (x > 4096.0) return tfgl_log(x) + 0.693147180559945309;
  if (x > 2.0) return tfgl_log(2.0 * x - 1.0 / (x + sqrt(x * x - 1.0)));
  float t = x - 1.0;
  return tfgl_log1p(t + sqrt(2.0 * t + t * t));
}
