// Floored remainder, as TensorFlow computes it: fmod, then shifted by b when the signs differ
// (integer tensors exactly, by integer division).
float binary_op(float a, float b) {
#if INTEGER
  return float(floored_division(a, b).y);
#else
  float r = (isinf_custom(b) && !isinf_custom(a)) ? a : a - b * trunc(a / b);
  if (r != 0.0 && ((b < 0.0) != (r < 0.0))) r += b;
  return r;
#endif
}
