// Needs basic_math/lib_trig.glsl. (cos, sin) of 2 pi m / n for 0 <= m < n, from m folded into
// (-n/2, n/2] so that the angle stays within [-pi, pi], where tfgl_cos and tfgl_sin are good to about
// 1 ulp. Quarter turns are exact (0 and +-1), as in TensorFlow's radix-2 and radix-4 butterflies.
vec2 tfgl_twiddle(int m, int n) {
  if ((4 * m) % n == 0) {
    int quarter = (4 * m) / n;
    return quarter == 0 ? vec2(1.0, 0.0) : quarter == 1 ? vec2(0.0, 1.0) : quarter == 2 ? vec2(-1.0, 0.0)
                                                                                        : vec2(0.0, -1.0);
  }
  float angle = 6.283185307179586 * (float(2 * m > n ? m - n : m) / float(n));
  return vec2(tfgl_cos(angle), tfgl_sin(angle));
}

// v * w, but nothing at all for an exact zero twiddle part: TensorFlow's butterflies never multiply by
// one, so a NaN or an infinity must not reach the outputs through it (as NaN * 0 would).
float tfgl_twiddled(float v, float w) { return w == 0.0 ? 0.0 : v * w; }
