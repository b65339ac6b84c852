// Packed im2col for an NHWC Conv2D: output (N*OUT_H, outW, kh*kw*C); the value at (row, ox, k)
// is input (n, oy*stride + ky*dilation - pad, ox*stride + kx*dilation - pad, ch) with row = n*OUT_H
// + oy and k = (ky*FILTER_W + kx)*CHANNELS + ch, or zero outside the input.
float windowValue(int n, int oy, int ox, int tap, int ch) {
  if (ox >= OUT_SHAPE_1 || tap >= FILTER_H * FILTER_W) return 0.0;
  int ky = tap / FILTER_W, kx = tap - ky * FILTER_W;
  int y = oy * STRIDE_H + ky * DILATION_H - PAD_H, x = ox * STRIDE_W + kx * DILATION_W - PAD_W;
  if (y < 0 || y >= IN_H || x < 0 || x >= IN_W) return 0.0;
  vec4 texel = getX(n, y, x, ch);
  int component = (x & 1) * 2 + (ch & 1);
  return component == 0 ? texel.x : component == 1 ? texel.y : component == 2 ? texel.z : texel.w;
}

void run() {
  ivec3 c = getOutputCoords();
  // Row and k decomposed once for the texel's four values: k + 1 is the next channel, or the
  // next tap's first (one division by CHANNELS, a uniform in shape-generic programs).
  int n = c.x / OUT_H, oy = c.x - n * OUT_H;
  int tap = c.z / CHANNELS, ch = c.z - tap * CHANNELS;
  int tap1 = ch + 1 == CHANNELS ? tap + 1 : tap, ch1 = ch + 1 == CHANNELS ? 0 : ch + 1;
  setOutput(vec4(windowValue(n, oy, c.y, tap, ch), windowValue(n, oy, c.y, tap1, ch1),
                 windowValue(n, oy, c.y + 1, tap, ch), windowValue(n, oy, c.y + 1, tap1, ch1)));
}
