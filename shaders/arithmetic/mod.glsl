// Truncated remainder (C fmod): the result takes the dividend's sign; fmod(a, ±inf) = a (integer
// tensors exactly, by integer division).
float binary_op(float a, float b) {
#if INTEGER
  return float(truncated_division(a, b).y);
#else
  if (isinf_custom(b) && !isinf_custom(a)) return a;
  return a - b * trunc(a / b);
#endif
}
