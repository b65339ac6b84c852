// Packed NHWC MaxPool and AvgPool (POOL_OP 0 and 1 of pool.glsl, with its rules): a texel is output
// columns ox, ox+1 by channels ch, ch+1, and each tap reads input column x (and x + STRIDE_W) from
// the half of its texel that matches the column's parity, as depthwise_packed.glsl. Only taps inside
// the input count; a half past the output's last column (an odd width's padding) is left 0, and an
// odd channel count's padding lane stays 0 as the input's does (max and mean of zeros).
#define LOWEST uintBitsToFloat(0xff7fffffu)

vec2 pairAt(vec4 texel, int x) { return (x & 1) == 0 ? texel.xy : texel.zw; }

// TensorFlow's max: NaN skipped, tested on the bits (a select on v > acc may compile to either rule).
float maxOf(float acc, float v) { return !isnan_custom(v) && v > acc ? v : acc; }

void run() {
  ivec4 c = getOutputCoords();
  int n = c.x, oy = c.y, ox = c.z, ch = c.w;
  uint inH = uint(IN_H), inW = uint(IN_W);
  int rowTexels = (IN_W + 1) >> 1;  // texel rows per image row
  int y0 = oy * STRIDE_H - PAD_H, x0 = ox * STRIDE_W - PAD_W;
#if POOL_OP == 0
  vec4 acc = vec4(LOWEST);
#else
  vec4 acc = vec4(0.0);
#endif
  float count0 = 0.0, count1 = 0.0;
  for (int ky = 0; ky < FILTER_H; ky++) {
    int y = y0 + ky * DILATION_H;
    if (uint(y) >= inH) continue;
    int row = getXBatch(n, y) * rowTexels;
    for (int kx = 0; kx < FILTER_W; kx++) {
      int xa = x0 + kx * DILATION_W, xb = xa + STRIDE_W;
      if (uint(xa) < inW) {
        vec2 v = pairAt(getXTexelAt(row + (xa >> 1), ch >> 1), xa);
#if POOL_OP == 0
        acc.xy = vec2(maxOf(acc.x, v.x), maxOf(acc.y, v.y));
#else
        acc.xy += v;
#endif
        count0 += 1.0;
      }
      if (uint(xb) < inW) {
        vec2 v = pairAt(getXTexelAt(row + (xb >> 1), ch >> 1), xb);
#if POOL_OP == 0
        acc.zw = vec2(maxOf(acc.z, v.x), maxOf(acc.w, v.y));
#else
        acc.zw += v;
#endif
        count1 += 1.0;
      }
    }
  }
#if POOL_OP == 1
  acc.xy /= count0;
  acc.zw = count1 > 0.0 ? acc.zw / count1 : vec2(0.0);
#endif
  if (ox + 1 >= OUT_W) acc.zw = vec2(0.0);
  setOutput(acc);
}
