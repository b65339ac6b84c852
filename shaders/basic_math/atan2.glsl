// Needs lib_inverse_trig.glsl. atan2(y, x) with C99's special cases, written out on the sign bits:
// a signed zero x picks the half-plane (atan2(+-0, -0) = +-pi), infinities give the diagonals, and the
// result takes y's sign (zeros included).
bool tfgl_sign_bit(float v) { return (floatBitsToUint(v) & 0x80000000u) != 0u; }
float tfgl_copysign(float magnitude, float s) { return tfgl_sign_bit(s) ? -magnitude : magnitude; }

float binary_op(float y, float x) {
  if (isnan_custom(y) || isnan_custom(x)) return NAN;
  bool x_negative = tfgl_sign_bit(x);
  if (y == 0.0) return x_negative ? tfgl_copysign(TFGL_PI_HI, y) : y;
  if (x == 0.0) return tfgl_copysign(TFGL_PIO2_HI, y);
  if (isinf_custom(x)) {
    if (isinf_custom(y)) return tfgl_copysign(x_negative ? 2.35619449019234492 : TFGL_PIO4_HI, y);
    return tfgl_copysign(x_negative ? TFGL_PI_HI : 0.0, y);
  }
  if (isinf_custom(y)) return tfgl_copysign(TFGL_PIO2_HI, y);
  float t = tfgl_atan_abs(abs(y) / abs(x));  // |y/x| overflowing to inf gives pi/2
  return tfgl_copysign(x_negative ? TFGL_PI_HI - (t - TFGL_PI_LO) : t, y);
}
