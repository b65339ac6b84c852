// Packed NHWC windows: a texel holds image columns 2k, 2k+1 by channels ch, ch+1, so input column x's
// channel pair is the half of its texel that matches x's parity.
vec2 pairAt(vec4 texel, int x) { return (x & 1) == 0 ? texel.xy : texel.zw; }
