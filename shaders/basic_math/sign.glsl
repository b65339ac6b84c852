// NaN stays NaN (the GLSL sign() of NaN is undefined); +-0 gives 0.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
}
