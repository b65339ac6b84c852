// 1 / sqrt(x), two correctly rounded steps (inversesqrt is an approximation): rsqrt(+-0) = +-inf,
// rsqrt(inf) = 0, rsqrt(x < 0) = NaN.
float unary_op(float x) {
  if (isnan_custom(x) || x < 0.0) return NAN;
  if (x == 0.0) return (floatBitsToUint(x) & 0x80000000u) != 0u ? -INFINITY : INFINITY;
  if (isinf_custom(x)) return 0.0;
  return 1.0 / sqrt(x);
}
