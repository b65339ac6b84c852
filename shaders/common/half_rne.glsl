// Half-float storage rounding to nearest, ties to even (TFGL_FP16_ROUNDING=rne; engine/webgl/half_float.py):
// IEEE's conversion, as numpy's float16. Values from 65520 up overflow to +-infinity; NaN and
// infinities stay; the sign of a zero is kept.
float tfgl_half(float v) {
  uint bits = floatBitsToUint(v);
  uint magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) return v;
  uint sign = bits & 0x80000000u;
  if (magnitude >= 0x38800000u) {
    // Normal: add just under half of the 13 dropped bits' unit, plus one where the kept last bit is
    // odd (ties go to even), then drop them; a carry moves into the exponent as it should.
    uint rounded = (magnitude + 0x0fffu + ((magnitude >> 13) & 1u)) & 0xffffe000u;
    return uintBitsToFloat(sign | (rounded > 0x477fe000u ? 0x7f800000u : rounded));
  }
  // Subnormal (below 2^-14): a whole number of 2^-24 steps; the scalings by powers of two are exact.
  float steps = roundEven(uintBitsToFloat(magnitude) * uintBitsToFloat(0x4b800000u));
  return uintBitsToFloat(sign | floatBitsToUint(steps * uintBitsToFloat(0x33800000u)));
}

vec4 tfgl_half(vec4 v) { return vec4(tfgl_half(v.x), tfgl_half(v.y), tfgl_half(v.z), tfgl_half(v.w)); }
