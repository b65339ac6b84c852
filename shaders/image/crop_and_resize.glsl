// CropAndResize: image A (batch, height, width, depth), boxes B (n, 4) as (y1, x1, y2, x2) normalized,
// box indices I (n) -> out (n, crop_h, crop_w, depth), as TensorFlow's CPU kernel. Sample positions:
//   crop > 1:  y1 * (height - 1) + y * ((y2 - y1) * (height - 1) / (crop_h - 1))
//   crop == 1: 0.5 * (y1 + y2) * (height - 1)
// Positions outside [0, size - 1] (NaN included) give u_extrapolation. NEAREST rounds half away from
// zero; bilinear lerps columns, then rows. A box index outside [0, batch) gives NaN: the kernel checks
// CPU-resident indices (TensorFlow's error), GPU-resident ones are only read here.
uniform vec2 u_extent;         // (height - 1, width - 1)
uniform vec2 u_steps;          // (crop_h - 1, crop_w - 1)
uniform float u_extrapolation;

float crop_position(float start, float end, int i, float extent, float steps, int crop) {
  if (crop == 1) return (0.5 * (start + end)) * extent;
  float step = settle((end - start) * extent) / steps;
  return start * extent + float(i) * step;
}

void run() {
  ivec4 c = getOutputCoords();
  int box = int(round(getIFlat(c.x)));
  if (box < 0 || box >= A_SHAPE_0) { setOutput(NAN); return; }
  float y = crop_position(getB(c.x, 0), getB(c.x, 2), c.y, u_extent.x, u_steps.x, OUT_SHAPE_1);
  float x = crop_position(getB(c.x, 1), getB(c.x, 3), c.z, u_extent.y, u_steps.y, OUT_SHAPE_2);
  if (!(y >= 0.0 && y <= u_extent.x && x >= 0.0 && x <= u_extent.y)) { setOutput(u_extrapolation); return; }
#if NEAREST
  setOutput(getA(box, int(round_half_away(y)), int(round_half_away(x)), c.w));
#else
  float top_y = floor(y), left_x = floor(x);
  int top = int(top_y), bottom = int(ceil(y)), left = int(left_x), right = int(ceil(x));
  float y_lerp = y - top_y, x_lerp = x - left_x;
  float top_left = getA(box, top, left, c.w);
  float top_right = getA(box, top, right, c.w);
  float bottom_left = getA(box, bottom, left, c.w);
  float bottom_right = getA(box, bottom, right, c.w);
  float upper = top_left + (top_right - top_left) * x_lerp;
  float lower = bottom_left + (bottom_right - bottom_left) * x_lerp;
  setOutput(upper + (lower - upper) * y_lerp);
#endif
}
