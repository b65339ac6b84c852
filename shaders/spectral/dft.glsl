// One part of a direct DFT along axis 1 (as TF.js's FFTProgram): out(b, k) is the real part (with
// IMAGINARY, the imaginary part) of sum_j (A(b, j) + i B(b, j)) e^(-2 pi i j k / DFT_SIZE) over the
// first DFT_SIZE values of A's axis 1 (RFFT's input may be longer). INVERSE: e^(+...) and a 1 / DFT_SIZE
// scale. REAL_INPUT: there is no B (RFFT).
void run() {
  ivec2 c = getOutputCoords();
  float sum = 0.0;
  int m = 0;  // j * k mod DFT_SIZE, kept exact in integers
  for (int j = 0; j < DFT_SIZE; j++) {
    vec2 w = tfgl_twiddle(m, DFT_SIZE);
#if !INVERSE
    w.y = -w.y;
#endif
    float re = getA(c.x, j);
#if REAL_INPUT && IMAGINARY
    sum += tfgl_twiddled(re, w.y);
#elif REAL_INPUT
    sum += tfgl_twiddled(re, w.x);
#elif IMAGINARY
    float im = getB(c.x, j);
    sum += tfgl_twiddled(re, w.y) + tfgl_twiddled(im, w.x);
#else
    float im = getB(c.x, j);
    sum += tfgl_twiddled(re, w.x) - tfgl_twiddled(im, w.y);
#endif
    m += c.y;
    if (m >= DFT_SIZE) m -= DFT_SIZE;
  }
#if INVERSE
  sum /= float(DFT_SIZE);
#endif
  setOutput(sum);
}
