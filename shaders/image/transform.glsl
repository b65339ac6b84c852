// ImageProjectiveTransformV3: images A (batch, height, width, depth), transforms T (1 or batch, 8)
// -> out (batch, out_h, out_w, depth). Output pixel (x, y) samples A at
// ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, after mapping each coordinate
// by FILL_MODE (0 CONSTANT, 1 REFLECT, 2 WRAP, 3 NEAREST) with TensorFlow's float/integer mix of
// operations; reads outside the image and k == 0 give u_fill. NEAREST interpolation rounds half away
// from zero. INTEGER results truncate toward zero, then keep WRAP_BITS low bits (8/16-bit types).
uniform vec2 u_size;  // (width, height) as floats
uniform float u_fill;

float map_coord(float coord, float len) {
#if FILL_MODE == 1
  if (len <= 1.0) return 0.0;
  float period = 2.0 * len;
  if (coord < 0.0) {
    float folded = period * trunc(-coord / period) + coord;
    coord = folded < -len ? folded + period : -folded - 1.0;
  } else if (coord > len - 1.0) {
    float wrapped = coord - period * trunc(coord / period);
    coord = wrapped >= len ? settle(period - wrapped) - 1.0 : wrapped;
  }
  return clip_nan(coord, 0.0, len - 1.0);
#elif FILL_MODE == 2
  if (len <= 1.0) return 0.0;
  float span = len - 1.0;
  if (coord < 0.0) coord = coord + len * settle(trunc(-coord / span) + 1.0);
  else if (coord > span) coord = coord - len * trunc(coord / span);
  return clip_nan(coord, 0.0, len - 1.0);
#elif FILL_MODE == 3
  return clip_nan(coord, 0.0, len - 1.0);
#else
  return coord;
#endif
}

// The pixel at integer-valued float coordinates, u_fill outside the image (NaN coordinates too).
float read(int batch, float row, float col, int channel) {
  if (!(row >= 0.0 && row < u_size.y && col >= 0.0 && col < u_size.x)) return u_fill;
  return getA(batch, int(row), int(col), channel);
}

float sample_image(int batch, int oy, int ox, int channel) {
  int t = T_SHAPE_0 == 1 ? 0 : batch;
  float xf = float(ox), yf = float(oy);
  float projection = settle(getT(t, 6) * xf + getT(t, 7) * yf) + 1.0;
  if (projection == 0.0) return u_fill;
  float x = map_coord((settle(getT(t, 0) * xf + getT(t, 1) * yf) + getT(t, 2)) / projection, u_size.x);
  float y = map_coord((settle(getT(t, 3) * xf + getT(t, 4) * yf) + getT(t, 5)) / projection, u_size.y);
#if NEAREST
  return read(batch, round_half_away(y), round_half_away(x), channel);
#else
  float y_floor = floor(y), x_floor = floor(x);
  float y_ceil = settle(y_floor + 1.0), x_ceil = settle(x_floor + 1.0);
  float w_left = x_ceil - x, w_right = x - x_floor;
  float value_y_floor = w_left * read(batch, y_floor, x_floor, channel) +
                        w_right * read(batch, y_floor, x_ceil, channel);
  float value_y_ceil = w_left * read(batch, y_ceil, x_floor, channel) +
                       w_right * read(batch, y_ceil, x_ceil, channel);
  return (y_ceil - y) * value_y_floor + (y - y_floor) * value_y_ceil;
#endif
}

void run() {
  ivec4 c = getOutputCoords();
  float value = sample_image(c.x, c.y, c.z, c.w);
#if INTEGER
  value = trunc(value);
#if WRAP_BITS
  // Exact in float32 for |value| < 2^24, the integers an int32 texture holds exactly.
  float modulus = float(1 << WRAP_BITS);
  value -= modulus * floor(value / modulus);
#if WRAP_SIGNED
  if (value >= 0.5 * modulus) value -= modulus;
#endif
#endif
#endif
  setOutput(value);
}
