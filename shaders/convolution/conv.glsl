// Convolution (Conv1D/2D/3D, _FusedConv2D) over 3 spatial dims (D, H, W; unused ones have size 1),
// one output element per fragment. X is the input, W the filter (FD, FH, FW, IN_CHANNELS,
// OUT_CHANNELS); convolution.py defines the geometry (IN_*, FILTER_*, STRIDE_*, DILATION_*, PAD_*),
// X's flat strides X_STRIDE_<axis> (either data format) and COORD_<axis>(i), the output's coordinates
// from its flat index. Taps that land in the padding are skipped, as zeros would add nothing.
void run() {
  int index = getOutputFlatIndex();
  int b = COORD_N(index), co = COORD_C(index);
  int d0 = COORD_D(index) * STRIDE_D - PAD_D;
  int h0 = COORD_H(index) * STRIDE_H - PAD_H;
  int w0 = COORD_W(index) * STRIDE_W - PAD_W;
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
        int x = b * X_STRIDE_N + d * X_STRIDE_D + h * X_STRIDE_H + w * X_STRIDE_W;
        int f = ((kd * FILTER_H + kh) * FILTER_W + kw) * (IN_CHANNELS * OUT_CHANNELS) + co;
        for (int ci = 0; ci < IN_CHANNELS; ci++) {
          sum += getXFlat(x) * getWFlat(f);
          x += X_STRIDE_C;
          f += OUT_CHANNELS;
        }
      }
    }
  }
#ifdef FUSED_EPILOGUE
  sum = fusedEpilogue(sum);
#endif
  setOutput(sum);
}
