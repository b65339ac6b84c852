// IEEE division; integer tensors truncate toward zero (TensorFlow's Div/RealDiv on ints).
float binary_op(float a, float b) {
#if INTEGER
  return trunc(a / b);
#else
  return a / b;
#endif
}
