// TensorFlow's min(t, hi) then max(., lo), NaN-aware: a NaN t stays NaN, a NaN bound is ignored, and lo
// wins over hi when lo > hi.
float ternary_op(float t, float lo, float hi) {
  if (isnan_custom(t)) return t;
  if (!isnan_custom(hi) && hi < t) t = hi;
  if (!isnan_custom(lo) && t < lo) t = lo;
  return t;
}
