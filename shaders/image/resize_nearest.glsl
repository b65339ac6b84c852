// ResizeNearestNeighbor: A (batch, in_h, in_w, depth) -> out (batch, out_h, out_w, depth), as
// TensorFlow: source = pos * scale, or (pos + 0.5) * scale with HALF_PIXEL (no -0.5: it floors
// afterwards); ALIGN_CORNERS rounds half away from zero, otherwise floor; then min(., size - 1), and
// max(., 0) with HALF_PIXEL.
uniform vec2 u_scale;  // (scale_h, scale_w)

void run() {
  ivec4 c = getOutputCoords();
  vec2 pos = vec2(float(c.y), float(c.z));
#if HALF_PIXEL
  vec2 source = (pos + 0.5) * u_scale;
#else
  vec2 source = pos * u_scale;
#endif
#if ALIGN_CORNERS
  vec2 nearest = round_half_away(source);
#else
  vec2 nearest = floor(source);
#endif
  ivec2 index = min(ivec2(nearest), ivec2(A_SHAPE_1 - 1, A_SHAPE_2 - 1));
#if HALF_PIXEL
  index = max(index, ivec2(0));
#endif
  setOutput(getA(c.x, index.x, index.y, c.w));
}
