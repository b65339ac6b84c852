// Needs lib_exp.glsl. fdlibm's tanhf: through expm1 (accurate near 0), saturating to +-1 beyond 9.1
// (where tanh rounds to 1) with no inf / inf on the way.
float unary_op(float x) {
  if (isnan_custom(x) || x == 0.0) return x;
  float a = abs(x);
  float r;
  if (a < 2.44140625e-4) r = a;  // 2^-12: tanh(a) = a (1 - a^2/3) rounds to a
  else if (a < 1.0) { float t = tfgl_expm1(-2.0 * a); r = -t / (t + 2.0); }
  else if (a < 9.1) { float t = tfgl_expm1(2.0 * a); r = 1.0 - 2.0 / (t + 2.0); }
  else r = 1.0;
  return x < 0.0 ? -r : r;
}
