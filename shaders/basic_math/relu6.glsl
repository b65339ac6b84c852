// NaN stays NaN, as in TensorFlow.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return min(max(x, 0.0), 6.0);
}
