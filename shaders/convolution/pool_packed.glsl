// Packed NHWC MaxPool and AvgPool (POOL_OP 0 and 1 of pool.glsl, with its rules): a texel is output
// columns ox, ox+1 by channels ch, ch+1, and each tap reads input column x (and x + STRIDE_W) from
// the half of its texel that matches the column's parity (column_pairs.glsl), as depthwise_packed.glsl.
// Only taps inside the input count; a half past the output's last column (an odd width's padding) is
// left 0, and an odd channel count's padding lane stays 0 as the input's does (max and mean of zeros).
#define LOWEST uintBitsToFloat(0xff7fffffu)

// One tap into an output column's pair: TensorFlow's max (NaN skipped, tested on the bits: a select
// on v > acc may compile to either rule), or the sum; `count` counts the taps.
void take(inout vec2 acc, inout float count, vec2 v) {
#if POOL_OP == 0
  acc = vec2(!isnan_custom(v.x) && v.x > acc.x ? v.x : acc.x, !isnan_custom(v.y) && v.y > acc.y ? v.y : acc.y);
#else
  acc += v;
#endif
  count += 1.0;
}

void run() {
  ivec4 c = getOutputCoords();
  int n = c.x, oy = c.y, ox = c.z, ch = c.w;
  uint inH = uint(IN_H), inW = uint(IN_W);
  int rowTexels = (IN_W + 1) >> 1;  // texel rows per image row
  int y0 = oy * STRIDE_H - PAD_H, x0 = ox * STRIDE_W - PAD_W;
  vec2 first = vec2(POOL_OP == 0 ? LOWEST : 0.0), second = first;
  float count0 = 0.0, count1 = 0.0;
  for (int ky = 0; ky < FILTER_H; ky++) {
    int y = y0 + ky * DILATION_H;
    if (uint(y) >= inH) continue;
    int row = getXBatch(n, y) * rowTexels;
    for (int kx = 0; kx < FILTER_W; kx++) {
      int xa = x0 + kx * DILATION_W, xb = xa + STRIDE_W;
      if (uint(xa) < inW) take(first, count0, pairAt(getXTexelAt(row + (xa >> 1), ch >> 1), xa));
      if (uint(xb) < inW) take(second, count1, pairAt(getXTexelAt(row + (xb >> 1), ch >> 1), xb));
    }
  }
#if POOL_OP == 1
  first /= count0;
  second = count1 > 0.0 ? second / count1 : vec2(0.0);
#endif
  setOutput(vec4(first, ox + 1 < OUT_W ? second : vec2(0.0)));
}
