// Half-float storage rounding toward zero (webgl-fp16's default, engine/webgl/half_float.py): what
// llvmpipe and the phone of tfjs#265 do when a float32 result lands in a half-float render target.
// The shader rounds each stored value itself, so the mode does not depend on the desktop's driver;
// the render target then holds it exactly. Finite values past 65504 clamp to +-65504 (round toward
// zero never reaches infinity); NaN and infinities stay; the sign of a zero is kept.
float tfgl_half(float v) {
  uint bits = floatBitsToUint(v);
  uint magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) return v;
  uint sign = bits & 0x80000000u;
  if (magnitude >= 0x477fe000u) return uintBitsToFloat(sign | 0x477fe000u);  // 65504, the largest half
  if (magnitude >= 0x38800000u) return uintBitsToFloat(bits & 0xffffe000u);  // normal: 10 mantissa bits
  // Subnormal (below 2^-14): a whole number of 2^-24 steps; the scalings by powers of two are exact.
  float steps = floor(uintBitsToFloat(magnitude) * uintBitsToFloat(0x4b800000u));
  return uintBitsToFloat(sign | floatBitsToUint(steps * uintBitsToFloat(0x33800000u)));
}

vec4 tfgl_half(vec4 v) { return vec4(tfgl_half(v.x), tfgl_half(v.y), tfgl_half(v.z), tfgl_half(v.w)); }
