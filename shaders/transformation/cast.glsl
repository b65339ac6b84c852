// Cast between the storage dtypes, on values held as floats. CAST_MODE:
//   0  copy (int/bool -> float, bool -> int, ...)
//   1  float -> bool (nonzero, NaN included)
//   2  float -> integer: truncate toward zero; NaN and values outside [INT_LOWEST, INT_LIMIT) become
//      INT_MARKER (TensorFlow's vectorized conversion); clamp to [CLAMP_LOW, CLAMP_HIGH] (8/16-bit
//      targets); then keep the low 32 bits as a signed int32, which is how int64/uint32/uint64 are stored.
//   3  int32 -> 8/16-bit integer: keep the low WRAP_BITS bits (sign-extended when WRAP_SIGNED).
float wrap32(float v) {
  if (v >= -2147483648.0 && v < 2147483648.0) return v;
  // |v| >= 2^31 is a multiple of 256 in float32, so these steps are exact.
  float r = v - 4294967296.0 * floor(v / 4294967296.0);
  return r >= 2147483648.0 ? r - 4294967296.0 : r;
}

float unary_op(float x) {
#if CAST_MODE == 1
  return (isnan_custom(x) || x != 0.0) ? 1.0 : 0.0;
#elif CAST_MODE == 2
  float v = isnan_custom(x) ? INT_MARKER : trunc(x);
  if (!(v >= INT_LOWEST && v < INT_LIMIT)) v = INT_MARKER;
  v = clamp(v, CLAMP_LOW, CLAMP_HIGH);
  return wrap32(v);
#elif CAST_MODE == 3
  int v = int(round(x)) & ((1 << WRAP_BITS) - 1);
#if WRAP_SIGNED
  if (v >= (1 << (WRAP_BITS - 1))) v -= 1 << WRAP_BITS;
#endif
  return float(v);
#else
  return x;
#endif
}
