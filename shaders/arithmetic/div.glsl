// IEEE division; integer tensors truncate toward zero (TensorFlow's Div/RealDiv on ints), exactly.
float binary_op(float a, float b) {
#if INTEGER
  return float(truncated_division(a, b).x);
#else
  return a / b;
#endif
}
