// Truncated remainder (C fmod): the result takes the dividend's sign; fmod(a, ±inf) = a.
float binary_op(float a, float b) {
  if (isinf_custom(b) && !isinf_custom(a)) return a;
  return a - b * trunc(a / b);
}
