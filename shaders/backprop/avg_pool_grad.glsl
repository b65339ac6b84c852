// AvgPoolGrad (2-D and 3-D) gathered per input position: the output is dx (coordinates by
// COORD_<axis>(i)), Dy the pool's output gradient (OUT_D, OUT_H, OUT_W; flat strides DY_STRIDE_<axis>).
// Input position p was read by tap k of output o when o * STRIDE - PAD + k == p; each output's
// gradient is shared evenly by its window's in-bounds taps (SAME padding not counted).
int tapsInside(int o, int stride, int pad, int window, int size) {
  int start = o * stride - pad;
  return min(start + window, size) - max(start, 0);
}

void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), c = COORD_C(index);
  int pd = COORD_D(index) + PAD_D, ph = COORD_H(index) + PAD_H, pw = COORD_W(index) + PAD_W;
  int channel = b * DY_STRIDE_N + c * DY_STRIDE_C;
  float sum = 0.0;
  for (int kd = 0; kd < FILTER_D; kd++) {
    int nd = pd - kd;
    if (nd < 0) break;  // later taps only move further left
    int od = nd / STRIDE_D;
    if (od * STRIDE_D != nd || od >= OUT_D) continue;
    for (int kh = 0; kh < FILTER_H; kh++) {
      int nh = ph - kh;
      if (nh < 0) break;
      int oh = nh / STRIDE_H;
      if (oh * STRIDE_H != nh || oh >= OUT_H) continue;
      for (int kw = 0; kw < FILTER_W; kw++) {
        int nw = pw - kw;
        if (nw < 0) break;
        int ow = nw / STRIDE_W;
        if (ow * STRIDE_W != nw || ow >= OUT_W) continue;
        int count = tapsInside(od, STRIDE_D, PAD_D, FILTER_D, IN_D) * tapsInside(oh, STRIDE_H, PAD_H, FILTER_H, IN_H) *
                    tapsInside(ow, STRIDE_W, PAD_W, FILTER_W, IN_W);
        sum += getDyFlat(channel + od * DY_STRIDE_D + oh * DY_STRIDE_H + ow * DY_STRIDE_W) / float(count);
      }
    }
  }
  setOutput(sum);
}
