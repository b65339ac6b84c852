// MaxPoolGrad (2-D and 3-D) gathered per input position p: the output is dx (coordinates by
// COORD_<axis>(i)); X the pool's input, Y its output and Dy their gradient (Y and Dy share the
// strides DY_STRIDE_<axis>). Each output o covering p passes its gradient to p when p is the first
// in-bounds tap of o's window, in row-major order, that holds o's max, as the CPU kernel routes it.
bool firstMaxAt(int xChannel, int d0, int h0, int w0, float y, int pd, int ph, int pw) {
  for (int kd = 0; kd < FILTER_D; kd++) {
    int d = d0 + kd;
    if (d < 0 || d >= IN_D) continue;
    for (int kh = 0; kh < FILTER_H; kh++) {
      int h = h0 + kh;
      if (h < 0 || h >= IN_H) continue;
      for (int kw = 0; kw < FILTER_W; kw++) {
        int w = w0 + kw;
        if (w < 0 || w >= IN_W) continue;
        if (getXFlat(xChannel + d * X_STRIDE_D + h * X_STRIDE_H + w * X_STRIDE_W) == y) {
          return d == pd && h == ph && w == pw;
        }
      }
    }
  }
  return false;
}

void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), c = COORD_C(index);
  int d = COORD_D(index), h = COORD_H(index), w = COORD_W(index);
  int pd = d + PAD_D, ph = h + PAD_H, pw = w + PAD_W;
  int xChannel = b * X_STRIDE_N + c * X_STRIDE_C;
  int channel = b * DY_STRIDE_N + c * DY_STRIDE_C;
  float sum = 0.0;
  for (int kd = 0; kd < FILTER_D; kd++) {
    int nd = pd - kd;
    if (nd < 0) break;
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
        int o = channel + od * DY_STRIDE_D + oh * DY_STRIDE_H + ow * DY_STRIDE_W;
        if (firstMaxAt(xChannel, od * STRIDE_D - PAD_D, oh * STRIDE_H - PAD_H, ow * STRIDE_W - PAD_W, getYFlat(o),
                       d, h, w)) {
          sum += getDyFlat(o);
        }
      }
    }
  }
  setOutput(sum);
}
