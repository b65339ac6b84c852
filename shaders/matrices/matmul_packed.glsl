// Packed batched product into output (batch, M, N): each fragment makes a 2x2 block from texels of
// A's rows and B's cols, two shared indices per texel step (TF.js's MatMulPackedProgram). Texel
// components past the shared dim are zero in both operands. A transposed operand's texel holds
// the block transposed: .xzyw swaps it back. baseA and baseB are the operands' first texel rows,
// found once outside the loop (with shape uniforms llvmpipe would multiply by them in every step).
vec4 readA(int base, int row, int k) {
#if TRANSPOSE_A
  return getATexelAt(base + k, row).xzyw;
#else
  return getATexelAt(base + row, k);
#endif
}

vec4 readB(int base, int k, int col) {
#if TRANSPOSE_B
  return getBTexelAt(base + col, k).xzyw;
#else
  return getBTexelAt(base + k, col);
#endif
}

void run() {
  ivec3 c = getOutputCoords();
  int baseA = getAMatrixRow(A_BATCHED == 1 ? c.x : 0), baseB = getBMatrixRow(B_BATCHED == 1 ? c.x : 0);
  int row = c.y >> 1, col = c.z >> 1;
  // SHARED_TEXELS is a uniform in shape-generic programs (a define for short products), and llvmpipe
  // does not unroll a loop of a uniform trip count: four steps per iteration, summed in one
  // expression, amortize its overhead (with two steps it costs ~4% more, with eight ~10%, a sum per
  // step ~4%). The bound is a plain `k < end`, which a define's loop unrolls whole (`k + 3 < n` not).
  int shared = SHARED_TEXELS, end = shared - 3;
  vec4 sum = vec4(0.0);
  int k = 0;
  for (; k < end; k += 4) {
    vec4 a0 = readA(baseA, row, k), b0 = readB(baseB, k, col);
    vec4 a1 = readA(baseA, row, k + 1), b1 = readB(baseB, k + 1, col);
    vec4 a2 = readA(baseA, row, k + 2), b2 = readB(baseB, k + 2, col);
    vec4 a3 = readA(baseA, row, k + 3), b3 = readB(baseB, k + 3, col);
    sum += a0.xxzz * b0.xyxy + a0.yyww * b0.zwzw + a1.xxzz * b1.xyxy + a1.yyww * b1.zwzw +
           a2.xxzz * b2.xyxy + a2.yyww * b2.zwzw + a3.xxzz * b3.xyxy + a3.yyww * b3.zwzw;
  }
  for (; k < shared; k++) {
    vec4 a = readA(baseA, row, k), b = readB(baseB, k, col);
    sum += a.xxzz * b.xyxy + a.yyww * b.zwzw;
  }
#ifdef FUSED_EPILOGUE_PACKED
  sum = fusedEpilogue(sum);
#endif
  setOutput(sum);
}
