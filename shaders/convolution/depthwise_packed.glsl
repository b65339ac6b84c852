// Packed NHWC depthwise convolution (multiplier 1). A texel is output columns ox, ox+1 by channels
// ch, ch+1. Per tap, input column x (and x + STRIDE_W) gives its channel pair from the half of its
// texel that matches the column's parity; both columns share one texel when x is even at stride 1.
// W is the filter viewed as (taps, channels): tap t's pair is the .xy or .zw half by t's parity.
// (pairAt: column_pairs.glsl)

void run() {
  ivec4 c = getOutputCoords();
  int n = c.x, oy = c.y, ox = c.z, ch = c.w;
  // The image size is a uniform in shape-generic programs: read once into locals, and each bound is
  // one unsigned compare (negative coordinates wrap above it), as cheap as against constants.
  uint inH = uint(IN_H), inW = uint(IN_W);
  int rowTexels = (IN_W + 1) >> 1;  // texel rows per image row
  int y0 = oy * STRIDE_H - PAD_H, x0 = ox * STRIDE_W - PAD_W;
  vec4 sum = vec4(0.0);
  for (int ky = 0; ky < FILTER_H; ky++) {
    int y = y0 + ky * DILATION_H;
    if (uint(y) >= inH) continue;
    // Image row (n, y)'s first texel row, once per row (llvmpipe would redo the math at every tap).
    int row = getXBatch(n, y) * rowTexels;
    for (int kx = 0; kx < FILTER_W; kx++) {
      int xa = x0 + kx * DILATION_W, xb = xa + STRIDE_W;
      bool in0 = uint(xa) < inW, in1 = uint(xb) < inW;
      // Branches, not selects, so skipped texels are not fetched (the conditions are the same for
      // every fragment of a row but the edges).
      vec4 t0 = vec4(0.0), t1 = vec4(0.0);
      if (in0) t0 = getXTexelAt(row + (xa >> 1), ch >> 1);
      if ((xb >> 1) == (xa >> 1)) {
        t1 = t0;
      } else if (in1) {
        t1 = getXTexelAt(row + (xb >> 1), ch >> 1);
      }
      int tap = ky * FILTER_W + kx;
      vec2 w = pairAt(getW(tap, ch), tap);
      // Taps outside the input add nothing (not 0 * w, which is NaN for an infinite weight).
      sum += vec4(in0 ? pairAt(t0, xa) * w : vec2(0.0), in1 ? pairAt(t1, xb) * w : vec2(0.0));
    }
  }
#ifdef FUSED_EPILOGUE_PACKED
  sum = fusedEpilogue(sum);
#endif
  setOutput(sum);
}
