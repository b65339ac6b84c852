// exp and expm1 to about 1 ulp in float32, independent of the driver's exp (llvmpipe's is off by up to
// ~50 ulp for large |x|, GPUs' are hardware approximations, and exp(x) - 1 loses every digit near 0).
// x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: k * TFGL_LN2_HI is exact), expm1(r) by its Taylor
// polynomial, then scaled by 2^k built from exponent bits (exact; no exp2/ldexp).
const float TFGL_LN2_HI = 0.693145751953125;      // 0x3f317200: 16 significant bits
const float TFGL_LN2_LO = 1.42860682030941723e-06;
const float TFGL_LOG2E = 1.44269504088896341;
const float TFGL_EXP_OVERFLOW = 88.72283172607422;   // the largest float32 x with a finite exp(x)
const float TFGL_EXP_UNDERFLOW = -103.97208404541016; // exp(x) rounds to 0 below

// 2^k for -126 <= k <= 127.
float tfgl_pow2i(int k) { return intBitsToFloat((k + 127) << 23); }

// expm1(r) for |r| <= 0.35: r + r^2 (1/2 + r/6 + ... + r^6/8!); the dropped term is below 2^-30 r.
float tfgl_expm1_reduced(float r) {
  float p = 2.48015873015873016e-05;   // 1/8!
  p = p * r + 1.98412698412698413e-04; // 1/7!
  p = p * r + 1.38888888888888889e-03; // 1/6!
  p = p * r + 8.33333333333333333e-03; // 1/5!
  p = p * r + 4.16666666666666667e-02; // 1/4!
  p = p * r + 1.66666666666666667e-01; // 1/3!
  p = p * r + 0.5;
  return r + (r * r) * p;
}

// k = round(x / ln2) and the reduced argument r.
float tfgl_exp_reduce(float x, out int k) {
  float kf = floor(x * TFGL_LOG2E + 0.5);
  k = int(kf);
  return (x - kf * TFGL_LN2_HI) - kf * TFGL_LN2_LO;
}

// 2^k * v, in two steps so that k down to -150 (subnormal results) and up to 128 work.
float tfgl_scale2(float v, int k) {
  int half_k = k >> 1;
  return (v * tfgl_pow2i(half_k)) * tfgl_pow2i(k - half_k);
}

float tfgl_exp(float x) {
  if (isnan_custom(x)) return x;
  if (x > TFGL_EXP_OVERFLOW) return INFINITY;
  if (x < TFGL_EXP_UNDERFLOW) return 0.0;
  int k;
  float r = tfgl_exp_reduce(x, k);
  return tfgl_scale2(1.0 + tfgl_expm1_reduced(r), k);
}

float tfgl_expm1(float x) {
  if (isnan_custom(x)) return x;
  if (x > TFGL_EXP_OVERFLOW) return INFINITY;
  if (x < -17.5) return -1.0;  // e^x < 2^-25: rounds to -1
  int k;
  float r = tfgl_exp_reduce(x, k);
  float p = tfgl_expm1_reduced(r);
  if (k == 0) return p;
  if (k > 24) return tfgl_scale2(1.0 + p, k) - 1.0;
  // 2^k (1 + p) - 1 = (2^k - 1) + 2^k p: both parts exact for -24 <= k <= 24 (at k = -25, x < -16.9,
  // the result is -1 to within an ulp either way).
  float s = tfgl_pow2i(k);
  return (s - 1.0) + s * p;
}
