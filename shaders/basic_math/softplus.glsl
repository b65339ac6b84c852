// Needs lib_exp.glsl and lib_log.glsl. log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large x,
// full relative accuracy for very negative x.
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return max(x, 0.0) + tfgl_log1p(tfgl_exp(-abs(x)));
}
