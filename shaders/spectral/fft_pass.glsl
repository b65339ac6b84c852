// One radix-2 pass of a Stockham FFT of power-of-two size DFT_SIZE along axis 1, for butterflies
// spanning SPAN values (1, 2, 4 .. DFT_SIZE / 2, one pass each; the result comes out in order).
// out(b, o) is the real (IMAGINARY: imaginary) part of in0 +- w in1, where in0 and in1 are the values
// j and j + DFT_SIZE / 2 of A + i B and w = e^(-+2 pi i k / (2 SPAN)), for o's place k in its group.
// REAL_INPUT: there is no B (RFFT's first pass); HERMITIAN_INPUT: A + i B holds bins 0 .. DFT_SIZE / 2
// only, the rest are their conjugates, and the imaginary parts of bins 0 and DFT_SIZE / 2 drop out
// (IRFFT's first pass). SCALE: divide by DFT_SIZE (the inverse's last pass).
void load(int b, int j, out float re, out float im) {
#if REAL_INPUT
  re = getA(b, j);
  im = 0.0;
#elif HERMITIAN_INPUT
  int nyquist = DFT_SIZE / 2;
  int bin = j <= nyquist ? j : DFT_SIZE - j;
  re = getA(b, bin);
  im = bin == 0 || bin == nyquist ? 0.0 : (j <= nyquist ? getB(b, bin) : -getB(b, bin));
#else
  re = getA(b, j);
  im = getB(b, j);
#endif
}

void run() {
  ivec2 c = getOutputCoords();
  int place = c.y % (2 * SPAN);
  int k = place % SPAN;
  int j = (c.y / (2 * SPAN)) * SPAN + k;
  float re0, im0, re1, im1;
  load(c.x, j, re0, im0);
  load(c.x, j + DFT_SIZE / 2, re1, im1);
  vec2 w = tfgl_twiddle(k * (DFT_SIZE / (2 * SPAN)), DFT_SIZE);
#if !INVERSE
  w.y = -w.y;
#endif
#if IMAGINARY
  float v0 = im0;
  float v1 = tfgl_twiddled(re1, w.y) + tfgl_twiddled(im1, w.x);
#else
  float v0 = re0;
  float v1 = tfgl_twiddled(re1, w.x) - tfgl_twiddled(im1, w.y);
#endif
  float v = place < SPAN ? v0 + v1 : v0 - v1;
#if SCALE
  v /= float(DFT_SIZE);
#endif
  setOutput(v);
}
