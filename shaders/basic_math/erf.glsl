// erf in float32 to about 1 ulp (the CPU kernel's is float64 rounded once), tiny x included:
//   |x| < 1/2:     x + x P(x^2), P a degree-5 fit of erf(x)/x - 1 in x^2 (the 1 kept exact);
//                  x 2/sqrt(pi) below 2^-100;
//   1/2 <= |x| < 4: 14 pieces of width 1/4; on each, erf(c) rounded to float32 plus a degree-7
//                  polynomial R(d) in d = |x| - c (exact) for the rest, erf(c + d) - float32(erf(c));
//   |x| >= 4:      1 (erf rounds to 1 from 3.92 on).
// The sum of a small correction onto a float32 constant keeps the result within ~0.7 ulp of erf.
// Coefficients: Chebyshev interpolation (numpy.polynomial.chebyshev.chebinterpolate) of math.erf in
// float64, converted to the power basis and rounded to float32.
const float TFGL_ERF_SMALL[6] = float[6](1.2837917e-01, -3.7612638e-01, 1.1283774e-01, -2.6863143e-02, 5.2004135e-03, -7.6945336e-04);
// Per piece: float32(erf(c)), then R's coefficients from d^0 to d^7.
const float TFGL_ERF_PIECES[126] = float[126](
  6.232409e-01, -5.933429e-09, 7.6349956e-01, -4.7718722e-01, -5.5671845e-02, 1.7645782e-01, -2.7412308e-02, -4.1136384e-02, 1.3796919e-02,
  7.840751e-01, -2.0287713e-08, 5.2474505e-01, -4.5915192e-01, 9.29236e-02, 1.1239712e-01, -6.7214884e-02, -1.04248775e-02, 1.849421e-02,
  8.883882e-01, 1.5208986e-08, 3.1827396e-01, -3.580582e-01, 1.6245233e-01, 2.7975127e-02, -6.1323572e-02, 1.5349131e-02, 9.595518e-03,
  9.4817007e-01, 6.904248e-09, 1.7035978e-01, -2.3424469e-01, 1.579377e-01, -3.0499313e-02, -3.0606454e-02, 2.2028295e-02, -1.3699819e-03,
  9.7844374e-01, -8.5581435e-09, 8.047226e-02, -1.3076742e-01, 1.1484062e-01, -4.9718685e-02, -2.1353543e-03, 1.4396527e-02, -6.140263e-03,
  9.9199003e-01, 2.78576e-08, 3.354583e-02, -6.289843e-02, 6.744109e-02, -4.2260315e-02, 1.1462472e-02, 4.149629e-03, -4.9170246e-03,
  9.97346e-01, -1.3342211e-08, 1.234082e-02, -2.6224243e-02, 3.3037405e-02, -2.636125e-02, 1.249557e-02, -1.7782657e-03, -1.878245e-03,
  9.9921703e-01, 2.83956e-08, 4.006478e-03, -9.515384e-03, 1.3730533e-02, -1.3133395e-02, 8.357496e-03, -3.0954767e-03, 1.1274269e-04,
  9.997946e-01, 2.1869738e-08, 1.1478751e-03, -3.0131722e-03, 4.890426e-03, -5.414305e-03, 4.2179273e-03, -2.2457014e-03, 6.7609304e-04,
  9.9995214e-01, 7.6900735e-09, 2.902283e-04, -8.3440647e-04, 1.502536e-03, -1.881719e-03, 1.7132683e-03, -1.1442897e-03, 5.280538e-04,
  9.999901e-01, -2.3635407e-09, 6.4758686e-05, -2.02371e-04, 4.000198e-04, -5.5754004e-04, 5.7695375e-04, -4.557895e-04, 2.672731e-04,
  9.999982e-01, -2.714206e-08, 1.27517405e-05, -4.3037177e-05, 9.258297e-05, -1.4187125e-04, 1.6376746e-04, -1.48126e-04, 1.0285056e-04,
  9.999997e-01, 2.8830407e-09, 2.2159202e-06, -8.03273e-06, 1.8673754e-05, -3.1162428e-05, 3.958927e-05, -4.015944e-05, 3.1828196e-05,
  9.9999994e-01, 1.7090704e-08, 3.3982238e-07, -1.3168174e-06, 3.288493e-06, -5.9307113e-06, 8.207774e-06, -9.20502e-06, 8.141887e-06);

float unary_op(float x) {
  if (isnan_custom(x) || x == 0.0) return x;
  float a = abs(x);
  float r;
  if (a < 0.5) {
    float z = a * a;
    float p = TFGL_ERF_SMALL[5];
    for (int k = 4; k >= 0; --k) p = p * z + TFGL_ERF_SMALL[k];
    // Below 2^-100, a p would be subnormal (flushed to zero on GPUs): erf(a) = a 2/sqrt(pi) there.
    r = a < 7.88860905e-31 ? a * 1.12837917 : a + a * p;
  } else if (a < 4.0) {
    int piece = min(int((a - 0.5) * 4.0), 13);
    float d = a - (0.625 + 0.25 * float(piece));
    int base = piece * 9;
    float p = TFGL_ERF_PIECES[base + 8];
    for (int k = 7; k >= 1; --k) p = p * d + TFGL_ERF_PIECES[base + k];
    r = TFGL_ERF_PIECES[base] + p;
  } else {
    r = 1.0;
  }
  return x < 0.0 ? -r : r;
}
