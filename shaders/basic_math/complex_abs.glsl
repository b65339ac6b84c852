// |re + i im| without overflow: infinite if either part is infinite (even with a NaN), else NaN if
// either is NaN, as numpy and TensorFlow.
float binary_op(float re, float im) {
  if (isinf_custom(re) || isinf_custom(im)) return INFINITY;
  if (isnan_custom(re) || isnan_custom(im)) return NAN;
  float big = max(abs(re), abs(im));
  if (big == 0.0) return 0.0;
  float ratio = min(abs(re), abs(im)) / big;
  return big * sqrt(1.0 + ratio * ratio);
}
