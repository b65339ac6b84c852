// NaN wins, as in TensorFlow.
float binary_op(float a, float b) {
  if (isnan_custom(a)) return a;
  if (isnan_custom(b)) return b;
  return max(a, b);
}
