float unary_op(float x) {
  if (isnan_custom(x) || isinf_custom(x)) return x;
  return floor(x);
}
