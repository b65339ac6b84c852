// Conv2DBackpropFilter and Conv3DBackpropFilterV2 (and, with DEPTHWISE, the depthwise convolution's
// filter gradient): one filter element per fragment, the output being dW of shape
// (FILTER_D, FILTER_H, FILTER_W, FILTER_IN, FILTER_OUT). It sums x[b, o * STRIDE - PAD + k * DILATION, ci]
// * dy[b, o, co] over the batch and every output position o whose tap k lands inside the input;
// a depthwise filter's (c, m) pairs input channel c with output channel c * FILTER_OUT + m.
void run() {
  int index = getOutputFlatIndex();
  int co = index - (index / FILTER_OUT) * FILTER_OUT;
  int rest = index / FILTER_OUT;
  int ci = rest - (rest / FILTER_IN) * FILTER_IN;
  rest /= FILTER_IN;
  int kw = rest - (rest / FILTER_W) * FILTER_W;
  rest /= FILTER_W;
  int kh = rest - (rest / FILTER_H) * FILTER_H;
  int kd = rest / FILTER_H;
#if DEPTHWISE
  int dyChannel = ci * FILTER_OUT + co;
#else
  int dyChannel = co;
#endif
  float sum = 0.0;
  for (int b = 0; b < BATCH; b++) {
    for (int od = 0; od < OUT_D; od++) {
      int d = od * STRIDE_D - PAD_D + kd * DILATION_D;
      if (d < 0 || d >= IN_D) continue;
      for (int oh = 0; oh < OUT_H; oh++) {
        int h = oh * STRIDE_H - PAD_H + kh * DILATION_H;
        if (h < 0 || h >= IN_H) continue;
        for (int ow = 0; ow < OUT_W; ow++) {
          int w = ow * STRIDE_W - PAD_W + kw * DILATION_W;
          if (w < 0 || w >= IN_W) continue;
          float x = getXFlat(b * X_STRIDE_N + ci * X_STRIDE_C + d * X_STRIDE_D + h * X_STRIDE_H + w * X_STRIDE_W);
          sum += x * getDyFlat(b * DY_STRIDE_N + dyChannel * DY_STRIDE_C + od * DY_STRIDE_D + oh * DY_STRIDE_H +
                               ow * DY_STRIDE_W);
        }
      }
    }
  }
  setOutput(sum);
}
