// 1/x for Reciprocal and Inv: 1/+-0 = +-inf, 1/+-inf = +-0.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return 1.0 / x;
}
