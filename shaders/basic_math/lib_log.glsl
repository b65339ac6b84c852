// log and log1p to about 1 ulp in float32 (the drivers' log loses relative accuracy near 1, and
// log(1 + x) loses every digit of a small x). Shaped on Cephes' logf: x = 2^e (1 + f) with
// f in [sqrt(1/2) - 1, sqrt(2) - 1], log(1 + f) = f - f^2/2 + f^3 P(f), e ln2 added in two parts.
// No compensated sums: GLSL compilers may fold (a + b) - a into b.

// e ln2 + log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1].
float tfgl_log_core(float f, float e) {
  float z = f * f;
  float y = 7.0376836292e-2;
  y = y * f - 1.1514610310e-1;
  y = y * f + 1.1676998740e-1;
  y = y * f - 1.2420140846e-1;
  y = y * f + 1.4249322787e-1;
  y = y * f - 1.6668057665e-1;
  y = y * f + 2.0000714765e-1;
  y = y * f - 2.4999993993e-1;
  y = y * f + 3.3333331174e-1;
  y = y * f * z;
  y += e * -2.12194440e-4;   // ln2 = 0.693359375 - 2.12194440e-4; the first part times e is exact
  y -= 0.5 * z;
  return (f + y) + e * 0.693359375;
}

// x = 2^e (1 + f) for a positive finite x, f in [sqrt(1/2) - 1, sqrt(2) - 1] (exact).
float tfgl_log_reduce(float x, out float e) {
  e = 0.0;
  if (x < 1.17549435e-38) { x *= 16777216.0; e = -24.0; }  // subnormal: scale into the normal range
  int bits = floatBitsToInt(x);
  e += float((bits >> 23) - 127);
  float m = intBitsToFloat((bits & 0x007fffff) | 0x3f800000);  // the significand, in [1, 2)
  if (m > 1.41421356) { m *= 0.5; e += 1.0; }
  return m - 1.0;
}

float tfgl_log(float x) {
  if (isnan_custom(x) || x < 0.0) return NAN;
  if (x == 0.0) return -INFINITY;
  if (isinf_custom(x)) return x;
  float e;
  float f = tfgl_log_reduce(x, e);
  return tfgl_log_core(f, e);
}

// The reductions pick f and e in branches and share one tfgl_log_core call: were e a literal there,
// compilers would fold e * ln2 into the constants of f's own expression and lose its rounding order.
float tfgl_log1p(float x) {
  if (isnan_custom(x)) return x;
  if (x < -1.0) return NAN;
  if (x == -1.0) return -INFINITY;
  if (isinf_custom(x)) return x;
  float f, e;
  if (x >= -0.29289321881 && x <= 0.41421356237) { f = x; e = 0.0; }
  else if (x >= -0.5 && x < 0.0) { f = 2.0 * x + 1.0; e = -1.0; }     // 2x + 1 is exact here
  else if (x > 0.0 && x <= 1.82842712475) { f = (x - 1.0) * 0.5; e = 1.0; }  // log(2 (1 + (x - 1) / 2))
  else f = tfgl_log_reduce(1.0 + x, e);  // below -1/2 1 + x is exact; above, it rounds by at most half
                                          // an ulp of a result beyond log(2.8)
  return tfgl_log_core(f, e);
}
