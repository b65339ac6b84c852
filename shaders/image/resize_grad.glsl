// ResizeBilinearGrad (BILINEAR) and ResizeNearestNeighborGrad, gathered per image pixel: the output
// is the image's gradient (batch, IMAGE_H, IMAGE_W, depth), Dy the resized output's gradient
// (batch, GRAD_H, GRAD_W, depth). Each pixel sums dy times the weight the forward op gave it, over
// the output positions near it (SPAN_H x SPAN_W candidates from a conservative start), the weights
// computed as resize_bilinear.glsl / resize_nearest.glsl compute them, so the same pixels match.
uniform vec2 u_scale;  // (scale_h, scale_w), float32 as the CPU computes them

// The share of output position o's gradient that input index i gets along one axis.
float axisWeight(int o, int i, float scale, int size) {
  float pos = float(o);
#if BILINEAR
#if HALF_PIXEL
  float source = settle((pos + 0.5) * scale) - 0.5;
#else
  float source = pos * scale;
#endif
  float base = floor(source);
  int lo = max(int(base), 0);
  int hi = min(int(ceil(source)), size - 1);
  float lerp = source - base;
  return (lo == i ? 1.0 - lerp : 0.0) + (hi == i ? lerp : 0.0);
#else
#if HALF_PIXEL
  float source = (pos + 0.5) * scale;
#else
  float source = pos * scale;
#endif
#if ALIGN_CORNERS
  int index = min(int(round_half_away(source)), size - 1);
#else
  int index = min(int(floor(source)), size - 1);
#endif
#if HALF_PIXEL
  index = max(index, 0);
#endif
  return index == i ? 1.0 : 0.0;
#endif
}

void run() {
  ivec4 c = getOutputCoords();
  // a scale of 0 (align_corners onto a single pixel) has every output read pixel 0: start at 0
  int startY = u_scale.x > 0.0 ? max(int(floor(float(c.y - 2) / u_scale.x)) - 1, 0) : 0;
  int startX = u_scale.y > 0.0 ? max(int(floor(float(c.z - 2) / u_scale.y)) - 1, 0) : 0;
  float sum = 0.0;
  for (int ky = 0; ky < SPAN_H; ky++) {
    int oy = startY + ky;
    if (oy >= GRAD_H) break;
    float wy = axisWeight(oy, c.y, u_scale.x, IMAGE_H);
    if (wy == 0.0) continue;
    for (int kx = 0; kx < SPAN_W; kx++) {
      int ox = startX + kx;
      if (ox >= GRAD_W) break;
      float wx = axisWeight(ox, c.z, u_scale.y, IMAGE_W);
      if (wx != 0.0) sum += getDy(c.x, oy, ox, c.w) * wy * wx;
    }
  }
  setOutput(sum);
}
