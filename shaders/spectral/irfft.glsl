// IRFFT along axis 1 by a direct sum: out(b, j) of the real signal of length DFT_SIZE whose spectrum's
// non-negative frequencies are A + i B (b, 0 .. DFT_SIZE / 2; a longer axis 1 is not read). The
// negative frequencies are their conjugates, so each pair adds twice the real part of one term; the
// imaginary parts of the DC and (for even sizes) the Nyquist bin drop out, as in TensorFlow.
void run() {
  ivec2 c = getOutputCoords();
  float sum = getA(c.x, 0);
  int pairs = (DFT_SIZE - 1) / 2;  // bins 1 .. pairs have a distinct conjugate
  int m = c.y;  // j * k mod DFT_SIZE, kept exact in integers
  for (int k = 1; k <= pairs; k++) {
    vec2 w = tfgl_twiddle(m, DFT_SIZE);
    sum += 2.0 * (tfgl_twiddled(getA(c.x, k), w.x) - tfgl_twiddled(getB(c.x, k), w.y));
    m += c.y;
    if (m >= DFT_SIZE) m -= DFT_SIZE;
  }
  if (DFT_SIZE % 2 == 0) {  // the Nyquist bin turns by (-1)^j
    float nyquist = getA(c.x, DFT_SIZE / 2);
    sum += c.y % 2 == 0 ? nyquist : -nyquist;
  }
  setOutput(sum / float(DFT_SIZE));
}
