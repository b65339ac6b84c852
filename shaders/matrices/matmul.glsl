// Batched matrix product into output (batch, M, N). A and B arrive as 3-D (batch, rows, cols);
// matrices.py defines the flat steps that walk row c.y of A and column c.z of B along the shared
// dim (so transposed operands cost nothing) and A_BATCH(b) / B_BATCH(b), the operand's batch for
// output batch b (broadcast batch dims read batch 0). One fragment loops over SHARED_DIM shared
// indices from K_START (a slice of the whole dim where a driver limits loop lengths).
void run() {
  ivec3 c = getOutputCoords();
  int a = A_BATCH(c.x) * A_BATCH_STRIDE + c.y * A_ROW_STEP + K_START * A_K_STEP;
  int b = B_BATCH(c.x) * B_BATCH_STRIDE + c.z * B_COL_STEP + K_START * B_K_STEP;
  float sum = 0.0;
  for (int k = 0; k < SHARED_DIM; k++) {
    sum += getAFlat(a) * getBFlat(b);
    a += A_K_STEP;
    b += B_K_STEP;
  }
#ifdef FUSED_EPILOGUE
  sum = fusedEpilogue(sum);
#endif
  setOutput(sum);
}
