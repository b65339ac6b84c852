// atan and asin in float32 to about 1 ulp (Cephes' atanf and asinf), with pi/2, pi/4 and pi added as
// hi + lo pairs so that results near them keep their last bits.
const float TFGL_PIO2_HI = 1.57079637050628662;
const float TFGL_PIO2_LO = -4.37113900018624283e-08;
const float TFGL_PIO4_HI = 0.785398185253143311;
const float TFGL_PIO4_LO = -2.18556950009312142e-08;
const float TFGL_PI_HI = 3.14159274101257324;
const float TFGL_PI_LO = -8.74227800037248566e-08;

// atan(a) for a >= 0 (a may be +inf): reduced to |t| <= tan(pi/8) around 0, pi/4 or pi/2.
float tfgl_atan_abs(float a) {
  float base = 0.0, base_lo = 0.0, t = a;
  if (a > 2.414213562373095) { base = TFGL_PIO2_HI; base_lo = TFGL_PIO2_LO; t = -1.0 / a; }
  else if (a > 0.4142135623730950) { base = TFGL_PIO4_HI; base_lo = TFGL_PIO4_LO; t = (a - 1.0) / (a + 1.0); }
  float z = t * t;
  float p = (((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z * t;
  return base + (t + (p + base_lo));
}

float tfgl_atan(float x) {
  if (isnan_custom(x) || x == 0.0) return x;  // keeps the sign of zero
  float r = tfgl_atan_abs(abs(x));
  return x < 0.0 ? -r : r;
}

// asin(a) for 0 <= a <= 1; above 1/2 through asin(a) = pi/2 - 2 asin(sqrt((1 - a) / 2)).
float tfgl_asin_abs(float a) {
  bool upper = a > 0.5;
  float z = upper ? 0.5 * (1.0 - a) : a * a;  // 1 - a is exact
  float t = upper ? sqrt(z) : a;
  float p = ((((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z
             + 1.6666752422e-1) * z * t + t;
  return upper ? (TFGL_PIO2_HI - 2.0 * p) + TFGL_PIO2_LO : p;
}
