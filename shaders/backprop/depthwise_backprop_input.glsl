// DepthwiseConv2dNativeBackpropInput gathered per input position, as convolution/backprop_input.glsl
// but channel by channel: dx[p, c] sums dy[o, c * MULTIPLIER + m] * W[k, c, m] over the taps k and
// outputs o that read p, and over m. W is the forward filter (FH, FW, IN_CHANNELS, MULTIPLIER).
void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), c = COORD_C(index);
  int ph = COORD_H(index) + PAD_H, pw = COORD_W(index) + PAD_W;
  float sum = 0.0;
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
      int dy = b * DY_STRIDE_N + c * MULTIPLIER * DY_STRIDE_C + oh * DY_STRIDE_H + ow * DY_STRIDE_W;
      int f = ((kh * FILTER_W + kw) * IN_CHANNELS + c) * MULTIPLIER;
      for (int m = 0; m < MULTIPLIER; m++) {
        sum += getDyFlat(dy) * getWFlat(f);
        dy += DY_STRIDE_C;
        f += 1;
      }
    }
  }
  setOutput(sum);
}
