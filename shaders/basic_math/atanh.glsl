// Needs lib_log.glsl. fdlibm's atanhf: 0.5 log1p(2a + 2a^2 / (1 - a)) below 1/2, 0.5 log1p(2a / (1 - a))
// above (1 - a exact there); +-1 gives +-inf, |x| > 1 NaN; keeps the sign of zero.
float unary_op(float x) {
  if (isnan_custom(x) || x == 0.0) return x;
  float a = abs(x);
  if (a > 1.0) return NAN;
  if (a == 1.0) return x < 0.0 ? -INFINITY : INFINITY;
  float r;
  if (a < 2.44140625e-4) r = a;  // 2^-12: atanh(a) = a (1 + a^2/3) rounds to a
  else if (a < 0.5) { float t = a + a; r = 0.5 * tfgl_log1p(t + t * a / (1.0 - a)); }
  else r = 0.5 * tfgl_log1p((a + a) / (1.0 - a));
  return x < 0.0 ? -r : r;
}
