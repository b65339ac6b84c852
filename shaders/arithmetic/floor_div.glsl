float binary_op(float a, float b) {
#if INTEGER
  return float(floored_division(a, b).x);
#else
  return floor(a / b);
#endif
}
