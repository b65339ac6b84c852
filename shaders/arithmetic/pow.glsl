// C pow semantics (GLSL's pow is undefined for a < 0 and for a == 0, b <= 0).
float binary_op(float a, float b) {
  if (b == 0.0) return 1.0;
  if (isnan_custom(a) || isnan_custom(b)) return NAN;
  if (a == 1.0) return 1.0;
  float magnitude = abs(a);
  bool odd_integer = abs(mod(b, 2.0)) == 1.0;
  if (magnitude == 0.0) {
    if (b < 0.0) return odd_integer ? (1.0 / a) : INFINITY;
    return odd_integer ? a : 0.0;
  }
  if (isinf_custom(b)) {
    if (magnitude == 1.0) return 1.0;
    return (magnitude > 1.0) == (b > 0.0) ? INFINITY : 0.0;
  }
  if (a < 0.0 && floor(b) != b) return NAN;
  float result = exp2(b * log2(magnitude));
#if INTEGER
  result = round(result);
#endif
  return (a < 0.0 && odd_integer) ? -result : result;
}
