// TF.js's step: 1 for x > 0, else stepAlpha (a uniform, already cast to x's dtype); NaN stays NaN.
uniform float stepAlpha;
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return x > 0.0 ? 1.0 : stepAlpha;
}
