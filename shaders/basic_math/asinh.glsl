// Needs lib_log.glsl. fdlibm's asinhf: x itself when tiny, log1p(a + a^2 / (1 + sqrt(1 + a^2))) up to 2,
// log(2a + 1 / (a + sqrt(a^2 + 1))) up to 2^12, then log(a) + ln2 (no a^2 overflow).
float unary_op(float x) {
  if (isnan_custom(x) || isinf_custom(x)) return x;
  float a = abs(x);
  if (a < 2.44140625e-4) return x;  // 2^-12: asinh(x) = x (1 - x^2/6) rounds to x
  float r;
  if (a > 4096.0) r = tfgl_log(a) + 0.693147180559945309;
  else if (a > 2.0) r = tfgl_log(2.0 * a + 1.0 / (sqrt(a * a + 1.0) + a));
  else { float a2 = a * a; r = tfgl_log1p(a + a2 / (1.0 + sqrt(1.0 + a2))); }
  return x < 0.0 ? -r : r;
}
