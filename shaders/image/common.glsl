// Helpers of the image kernels. Coordinates are float32 computed in the CPU kernel's (TensorFlow's)
// order, so the same pixels are read. GLSL below 4.00 has no `precise`, and Mesa reassociates float
// sums (a * x + b * y + c runs as (a * x + c) + b * y): `settle` pins a rounded intermediate behind
// an integer XOR with a uniform that is always 0, which no optimizer can see through. Scales and
// extents come in as uniforms, so no constant folding changes the roundings either.
uniform uint u_zero_bits;  // never set: GL initializes uniforms to 0

float settle(float v) { return uintBitsToFloat(floatBitsToUint(v) ^ u_zero_bits); }
vec2 settle(vec2 v) { return uintBitsToFloat(floatBitsToUint(v) ^ uvec2(u_zero_bits)); }

// C's roundf (half away from zero), exact for every float: |x| - floor(|x|) is exact, whereas
// floor(|x| + 0.5) rounds the sum first (0.49999997 + 0.5 == 1.0 in float32).
float round_half_away(float x) {
  float a = abs(x);
  float f = floor(a);
  float r = (a - f >= 0.5) ? f + 1.0 : f;
  return x < 0.0 ? -r : r;
}
vec2 round_half_away(vec2 v) { return vec2(round_half_away(v.x), round_half_away(v.y)); }

// numpy's clip: NaN stays NaN (GLSL's clamp/min/max leave NaN undefined).
float clip_nan(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
