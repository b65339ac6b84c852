// NaN stays NaN, as in TensorFlow (max(NaN, 0) may give 0 on GPUs).
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return max(x, 0.0);
}
