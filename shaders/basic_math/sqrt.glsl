// sqrt(-0) = -0, sqrt(x < 0) = NaN, sqrt(inf) = inf (written out: GPUs may compute x * rsqrt(x)).
float unary_op(float x) {
  if (isnan_custom(x) || x < 0.0) return NAN;
  if (x == 0.0 || isinf_custom(x)) return x;
  return sqrt(x);
}
