// ResizeBilinear: A (batch, in_h, in_w, depth) -> out (batch, out_h, out_w, depth), as TensorFlow's
// CPU kernel: source = pos * scale, or (pos + 0.5) * scale - 0.5 with HALF_PIXEL; the lower index is
// max(floor, 0), the upper min(ceil, size - 1), the weight source - floor; rows lerp after columns.
uniform vec2 u_scale;  // (scale_h, scale_w), float32 as the CPU computes them

void run() {
  ivec4 c = getOutputCoords();
  vec2 pos = vec2(float(c.y), float(c.z));
#if HALF_PIXEL
  vec2 source = settle((pos + 0.5) * u_scale) - 0.5;
#else
  vec2 source = pos * u_scale;
#endif
  vec2 base = floor(source);
  ivec2 lo = max(ivec2(base), ivec2(0));
  ivec2 hi = min(ivec2(ceil(source)), ivec2(A_SHAPE_1 - 1, A_SHAPE_2 - 1));
  vec2 lerp = source - base;
  float top_left = getA(c.x, lo.x, lo.y, c.w);
  float top_right = getA(c.x, lo.x, hi.y, c.w);
  float bottom_left = getA(c.x, hi.x, lo.y, c.w);
  float bottom_right = getA(c.x, hi.x, hi.y, c.w);
  float top = top_left + (top_right - top_left) * lerp.y;
  float bottom = bottom_left + (bottom_right - bottom_left) * lerp.y;
  setOutput(top + (bottom - top) * lerp.x);
}
