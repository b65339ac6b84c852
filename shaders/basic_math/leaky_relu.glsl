// x for x > 0, else alpha x (a uniform, so every alpha shares one program, standalone or fused). NaN stays NaN.
uniform float leakyReluAlpha;
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return x > 0.0 ? x : x * leakyReluAlpha;
}
