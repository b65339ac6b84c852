// Needs lib_exp.glsl. fdlibm's coshf: 1 + expm1^2 / (2 e^|x|) near 0, (e^|x| + e^-|x|) / 2 below 10,
// 0.5 e^|x| up to exp's overflow, then (0.5 e^(|x|/2)) e^(|x|/2) up to cosh's own overflow.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  float a = abs(x);
  if (a < 0.34657359) { float t = tfgl_expm1(a); float w = 1.0 + t; return 1.0 + (t * t) / (w + w); }
  if (a < 10.0) { float t = tfgl_exp(a); return 0.5 * t + 0.5 / t; }
  if (a <= TFGL_EXP_OVERFLOW) return 0.5 * tfgl_exp(a);
  float w = tfgl_exp(0.5 * a);
  return (0.5 * w) * w;
}
