// TF.js's rotateWithOffset: output pixel (x, y) reads A at (x, y) rotated about u_center (x, y) by the
// angle whose cosine and sine are u_rotation, as (x - cx) cos - (y - cy) sin + cx and
// (x - cx) sin + (y - cy) cos + cy in float32 in that order (each rounding pinned by settle),
// rounded half away from zero; outside the image it is u_fill[channel] (PER_CHANNEL) or u_fill.x.
uniform vec2 u_center;
uniform vec2 u_rotation;
uniform vec4 u_fill;

void run() {
  ivec4 c = getOutputCoords();
  float dx = settle(float(c.z) - u_center.x), dy = settle(float(c.y) - u_center.y);
  float cosine = u_rotation.x, sine = u_rotation.y;
  float sourceX = settle(settle(dx * cosine) - settle(dy * sine)) + u_center.x;
  float sourceY = settle(settle(dx * sine) + settle(dy * cosine)) + u_center.y;
  // Compared as floats: a NaN or huge position (a NaN or infinite angle) has no defined int.
  float col = round_half_away(sourceX), row = round_half_away(sourceY);
#if PER_CHANNEL
  float fill = u_fill[c.w];
#else
  float fill = u_fill.x;
#endif
  bool inside = row >= 0.0 && row < float(A_SHAPE_1) && col >= 0.0 && col < float(A_SHAPE_2);
  setOutput(inside ? getA(c.x, int(row), int(col), c.w) : fill);
}
