// Packed im2col for an NHWC Conv2D: output (N*OUT_H, outW, kh*kw*C); the value at (row, ox, k)
// is input (n, oy*stride + ky*dilation - pad, ox*stride + kx*dilation - pad, ch) with row = n*OUT_H
// + oy and k = (ky*FILTER_W + kx)*CHANNELS + ch, or zero outside the input.
float windowValue(int row, int ox, int k) {
  if (ox >= OUT_SHAPE_1 || k >= OUT_SHAPE_2) return 0.0;
  int n = row / OUT_H, oy = row - n * OUT_H;
  int ch = k % CHANNELS, tap = k / CHANNELS;
  int ky = tap / FILTER_W, kx = tap - ky * FILTER_W;
  int y = oy * STRIDE_H + ky * DILATION_H - PAD_H, x = ox * STRIDE_W + kx * DILATION_W - PAD_W;
  if (y < 0 || y >= IN_H || x < 0 || x >= IN_W) return 0.0;
  vec4 texel = getX(n, y, x, ch);
  int component = (x & 1) * 2 + (ch & 1);
  return component == 0 ? texel.x : component == 1 ? texel.y : component == 2 ? texel.z : texel.w;
}

void run() {
  ivec3 c = getOutputCoords();
  setOutput(vec4(windowValue(c.x, c.y, c.z), windowValue(c.x, c.y, c.z + 1),
                 windowValue(c.x, c.y + 1, c.z), windowValue(c.x, c.y + 1, c.z + 1)));
}
