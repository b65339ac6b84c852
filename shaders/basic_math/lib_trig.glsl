// sin, cos and tan in float32 to about 1 ulp for |x| < 8192 (Cephes' sinf/cosf/tanf): the argument is
// reduced by multiples of pi/4 with pi/4 split in three parts (y * TFGL_DP1 and y * TFGL_DP2 exact),
// then a polynomial on [-pi/4, pi/4]. GPUs' sin and cos are approximations with an absolute, not a
// relative, error bound (sin of a small x loses its digits). Beyond 8192 the reduction error grows
// as |x| 2^-24, as in most float32 libraries; beyond 65536 (where float32 holds no digit of x's
// fraction of pi) the driver's own function answers.
const float TFGL_TRIG_MAX = 65536.0;
const float TFGL_DP1 = 0.78515625;
const float TFGL_DP2 = 2.4187564849853515625e-4;
const float TFGL_DP3 = 3.77489497744594108e-8;
const float TFGL_FOUR_OVER_PI = 1.27323954473516;

// a >= 0, finite: the reduced argument in [-pi/4, pi/4] and the octant j in 0..7 (even).
float tfgl_trig_reduce(float a, out int j) {
  float y = floor(a * TFGL_FOUR_OVER_PI);
  if (mod(y, 2.0) == 1.0) y += 1.0;
  j = int(mod(y, 8.0));
  return ((a - y * TFGL_DP1) - y * TFGL_DP2) - y * TFGL_DP3;
}

float tfgl_sin_poly(float z) {
  float zz = z * z;
  return ((-1.9515295891e-4 * zz + 8.3321608736e-3) * zz - 1.6666654611e-1) * zz * z + z;
}

float tfgl_cos_poly(float z) {
  float zz = z * z;
  return ((2.443315711809948e-5 * zz - 1.388731625493765e-3) * zz + 4.166664568298827e-2) * zz * zz
      - 0.5 * zz + 1.0;
}

float tfgl_sin(float x) {
  if (isnan_custom(x) || isinf_custom(x)) return NAN;
  if (x == 0.0) return x;  // keeps the sign of zero
  if (abs(x) > TFGL_TRIG_MAX) return sin(x);
  bool negative = x < 0.0;
  int j;
  float z = tfgl_trig_reduce(abs(x), j);
  if (j > 3) { negative = !negative; j -= 4; }
  float y = (j == 0) ? tfgl_sin_poly(z) : tfgl_cos_poly(z);  // j is 0 or 2 (its octant pair: 0-1, 2-3)
  return negative ? -y : y;
}

float tfgl_cos(float x) {
  if (isnan_custom(x) || isinf_custom(x)) return NAN;
  if (abs(x) > TFGL_TRIG_MAX) return cos(x);
  int j;
  float z = tfgl_trig_reduce(abs(x), j);
  bool negative = false;
  if (j > 3) { negative = true; j -= 4; }
  if (j > 1) negative = !negative;
  float y = (j == 0) ? tfgl_cos_poly(z) : tfgl_sin_poly(z);
  return negative ? -y : y;
}

float tfgl_tan(float x) {
  if (isnan_custom(x) || isinf_custom(x)) return NAN;
  if (x == 0.0) return x;  // keeps the sign of zero
  if (abs(x) > TFGL_TRIG_MAX) return tan(x);
  int j;
  float z = tfgl_trig_reduce(abs(x), j);
  float zz = z * z;
  float y = 9.38540185543e-3;
  y = y * zz + 3.11992232697e-3;
  y = y * zz + 2.44301354525e-2;
  y = y * zz + 5.34112807005e-2;
  y = y * zz + 1.33387994085e-1;
  y = y * zz + 3.33331568548e-1;
  y = y * zz * z + z;
  if ((j & 2) != 0) y = -1.0 / y;
  return x < 0.0 ? -y : y;
}
