// x / (1 + |x|); +-inf gives NaN (inf / inf), as TensorFlow computes it.
float unary_op(float x) {
  if (isnan_custom(x) || isinf_custom(x)) return NAN;
  return x / (1.0 + abs(x));
}
