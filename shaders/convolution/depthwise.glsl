// Depthwise convolution (DepthwiseConv2dNative, FusedDepthwiseConv2dNative) over 3 spatial dims, as
// conv.glsl: output channel co = c * MULTIPLIER + m reads input channel c only, with filter
// W (FD, FH, FW, IN_CHANNELS, MULTIPLIER), whose flat index is tap * OUT_CHANNELS + co.
void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), co = COORD_C(index);
  int d0 = COORD_D(index) * STRIDE_D - PAD_D;
  int h0 = COORD_H(index) * STRIDE_H - PAD_H;
  int w0 = COORD_W(index) * STRIDE_W - PAD_W;
  int xChannel = b * X_STRIDE_N + (co / MULTIPLIER) * X_STRIDE_C;
  float sum = 0.0;
  for (int kd = 0; kd < FILTER_D; kd++) {
    int d = d0 + kd * DILATION_D;
    if (d < 0 || d >= IN_D) continue;
    for (int kh = 0; kh < FILTER_H; kh++) {
      int h = h0 + kh * DILATION_H;
      if (h < 0 || h >= IN_H) continue;
      for (int kw = 0; kw < FILTER_W; kw++) {
        int w = w0 + kw * DILATION_W;
        if (w < 0 || w >= IN_W) continue;
        int tap = (kd * FILTER_H + kh) * FILTER_W + kw;
        sum += getXFlat(xChannel + d * X_STRIDE_D + h * X_STRIDE_H + w * X_STRIDE_W) *
               getWFlat(tap * OUT_CHANNELS + co);
      }
    }
  }
#ifdef FUSED_EPILOGUE
  sum = fusedEpilogue(sum);
#endif
  setOutput(sum);
}
