// Window reductions over 3 spatial dims (MaxPool, AvgPool, their 3-D forms, Dilation2D,
// MaxPoolWithArgmax), one output element per fragment, geometry as in conv.glsl; the output
// channel is the input channel. Only taps inside the input count. POOL_OP:
//   0 max as TensorFlow's CPU kernel: from float32's lowest, NaN skipped (so all-NaN or all -inf
//     windows give -3.4e38);
//   1 average: the sum over the in-bounds taps divided by their number (SAME padding not counted);
//   2 Dilation2D: max of X + W[kh, kw, c] (W is (FH, FW, C)), as 0;
//   3 / 4 MaxPoolWithArgmax's value / flat index: the window's first tap, then a later one only
//     when strictly greater (so a leading NaN wins and ties keep the first); the index is
//     ((b * IN_H + h) * IN_W + w) * C + c, without the batch term unless INCLUDE_BATCH.
#define LOWEST uintBitsToFloat(0xff7fffffu)

void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), c = COORD_C(index);
  int d0 = COORD_D(index) * STRIDE_D - PAD_D;
  int h0 = COORD_H(index) * STRIDE_H - PAD_H;
  int w0 = COORD_W(index) * STRIDE_W - PAD_W;
  int xChannel = b * X_STRIDE_N + c * X_STRIDE_C;
#if POOL_OP == 0 || POOL_OP == 2
  float acc = LOWEST;
#elif POOL_OP == 1
  float acc = 0.0;
  int count = 0;
#else
  float acc = 0.0;
  int best = -1;
#endif
  for (int kd = 0; kd < FILTER_D; kd++) {
    int d = d0 + kd * DILATION_D;
    if (d < 0 || d >= IN_D) continue;
    for (int kh = 0; kh < FILTER_H; kh++) {
      int h = h0 + kh * DILATION_H;
      if (h < 0 || h >= IN_H) continue;
      for (int kw = 0; kw < FILTER_W; kw++) {
        int w = w0 + kw * DILATION_W;
        if (w < 0 || w >= IN_W) continue;
        float v = getXFlat(xChannel + d * X_STRIDE_D + h * X_STRIDE_H + w * X_STRIDE_W);
#if POOL_OP == 2
        v += getWFlat((kh * FILTER_W + kw) * IN_CHANNELS + c);
#endif
#if POOL_OP == 0 || POOL_OP == 2
        // NaN tested on the bits: a select on v > acc may compile to a max() of either NaN rule.
        if (!isnan_custom(v) && v > acc) acc = v;
#elif POOL_OP == 1
        acc += v;
        count++;
#else
        if (best < 0 || (!isnan_custom(v) && !isnan_custom(acc) && v > acc)) {
          acc = v;
          best = ((d * IN_H + h) * IN_W + w) * IN_CHANNELS + c;
        }
#endif
      }
    }
  }
#if POOL_OP == 1
  acc /= float(count);
#elif POOL_OP == 4
#if INCLUDE_BATCH
  if (best >= 0) best += b * (IN_D * IN_H * IN_W * IN_CHANNELS);
#endif
  acc = float(best);
#endif
  setOutput(acc);
}
