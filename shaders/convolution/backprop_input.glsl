// Conv2DBackpropInput (the transposed convolution) gathered per input position: the output is the
// input gradient dx (its coordinates by COORD_<axis>(i)), Dy the output gradient (OUT_D, OUT_H,
// OUT_W spatial, OUT_CHANNELS; flat strides DY_STRIDE_<axis>), W the forward filter
// (FD, FH, FW, IN_CHANNELS, OUT_CHANNELS). Input position p was read by tap k of output position o
// when o * STRIDE - PAD + k * DILATION == p; dx[p, ci] sums dy[o, co] * W[k, ci, co] over those.
void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), ci = COORD_C(index);
  int pd = COORD_D(index) + PAD_D, ph = COORD_H(index) + PAD_H, pw = COORD_W(index) + PAD_W;
  float sum = 0.0;
  for (int kd = 0; kd < FILTER_D; kd++) {
    int nd = pd - kd * DILATION_D;
    if (nd < 0) break;  // later taps only move further left
    int od = nd / STRIDE_D;
    if (od * STRIDE_D != nd || od >= OUT_D) continue;
    for (int kh = 0; kh < FILTER_H; kh++) {
      int nh = ph - kh * DILATION_H;
      if (nh < 0) break;
      int oh = nh / STRIDE_H;
      if (oh * STRIDE_H != nh || oh >= OUT_H) continue;
      for (int kw = 0; kw < FILTER_W; kw++) {
        int nw = pw - kw * DILATION_W;
        if (nw < 0) break;
        int ow = nw / STRIDE_W;
        if (ow * STRIDE_W != nw || ow >= OUT_W) continue;
        int dy = b * DY_STRIDE_N + od * DY_STRIDE_D + oh * DY_STRIDE_H + ow * DY_STRIDE_W;
        int f = (((kd * FILTER_H + kh) * FILTER_W + kw) * IN_CHANNELS + ci) * OUT_CHANNELS;
        for (int co = 0; co < OUT_CHANNELS; co++) {
          sum += getDyFlat(dy) * getWFlat(f);
          dy += DY_STRIDE_C;
          f += 1;
        }
      }
    }
  }
  setOutput(sum);
}
