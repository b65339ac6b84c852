// Packed batched product into output (batch, M, N): each fragment makes a 2x2 block from texels of
// A's rows and B's cols, two shared indices per step (TF.js's MatMulPackedProgram). Texel
// components past the shared dim are zero in both operands. A transposed operand's texel holds
// the block transposed: .xzyw swaps it back.
void run() {
  ivec3 c = getOutputCoords();
  int batchA = A_BATCHED == 1 ? c.x : 0, batchB = B_BATCHED == 1 ? c.x : 0;
  int row = c.y >> 1, col = c.z >> 1;
  vec4 sum = vec4(0.0);
  for (int k = 0; k < SHARED_TEXELS; k++) {
#if TRANSPOSE_A
    vec4 a = getAMatrixTexel(batchA, k, row).xzyw;
#else
    vec4 a = getAMatrixTexel(batchA, row, k);
#endif
#if TRANSPOSE_B
    vec4 b = getBMatrixTexel(batchB, col, k).xzyw;
#else
    vec4 b = getBMatrixTexel(batchB, k, col);
#endif
    sum += a.xxzz * b.xyxy + a.yyww * b.zwzw;
  }
#ifdef FUSED_EPILOGUE_PACKED
  sum = fusedEpilogue(sum);
#endif
  setOutput(sum);
}
