// Scatter (ScatterNd, TensorScatterUpdate, SparseToDense) on a flat output of BLOCKS * SLICE values:
// an index tuple addresses one block (a slice of SLICE values) of the output. Each fragment finds the
// updates that land on its block; U holds them row-major (NUM_UPDATES, SLICE), or one value for all
// (SCALAR_UPDATES).
//   SUM 1: updates landing on one block are added in update order (ScatterNd; BOOL_OR: logical or);
//   SUM 0: the last one wins (TensorScatterUpdate, SparseToDense).
//   BASE 0: blocks no update lands on are 0; 1: they copy tensor T (same size as the output);
//   2: they are the scalar D.
// SORTED 1: the kernel read the indices on the CPU and checked them; I is (NUM_UPDATES, 2) of
//   (block, update row) pairs, sorted by block and stable, so a binary search finds a block's
//   updates, still in update order.
// SORTED 0: the indices live on the GPU, unchecked; I is (NUM_UPDATES, DEPTH) index tuples, whose
//   components STRIDES (in blocks) and LIMITS (dimensions) flatten; every fragment loops over all
//   updates. Tuples outside the output are ignored, as TF.js's GPU scatter does.

float update(int row, int col) {
#if SCALAR_UPDATES
  return getUFlat(0);
#else
  return getUFlat(row * SLICE + col);
#endif
}

float base() {
#if BASE == 1
  return getTFlat(getOutputFlatIndex());
#elif BASE == 2
  return getDFlat(0);
#else
  return 0.0;
#endif
}

#if SORTED
int blockAt(int k) { return int(round(getIFlat(2 * k))); }
int rowAt(int k) { return int(round(getIFlat(2 * k + 1))); }

// The first k with blockAt(k) > target (NUM_UPDATES when none): SEARCH_STEPS >= log2(NUM_UPDATES) + 1.
int firstAbove(int target) {
  int lo = 0;
  int hi = NUM_UPDATES;
  for (int step = 0; step < SEARCH_STEPS; step++) {
    if (lo >= hi) break;
    int mid = (lo + hi) / 2;
    if (blockAt(mid) > target) hi = mid; else lo = mid + 1;
  }
  return lo;
}
#else
int blockOf(int row) {
  const int strides[DEPTH] = int[DEPTH](STRIDES);
  const int limits[DEPTH] = int[DEPTH](LIMITS);
  int block = 0;
  for (int j = 0; j < DEPTH; j++) {
    int index = int(round(getIFlat(row * DEPTH + j)));
    if (index < 0 || index >= limits[j]) return -1;
    block += index * strides[j];
  }
  return block;
}
#endif

void run() {
  int index = getOutputFlatIndex();
  int block = index / SLICE;
  int col = index - block * SLICE;
  float acc = 0.0;
  bool found = false;
#if SORTED
#if SUM
  for (int k = firstAbove(block - 1); k < NUM_UPDATES; k++) {
    if (blockAt(k) != block) break;
    acc += update(rowAt(k), col);
    found = true;
  }
#else
  int k = firstAbove(block) - 1;
  if (k >= 0 && blockAt(k) == block) {
    acc = update(rowAt(k), col);
    found = true;
  }
#endif
#else
  for (int row = 0; row < NUM_UPDATES; row++) {
    if (blockOf(row) != block) continue;
#if SUM
    acc += update(row, col);
#else
    acc = update(row, col);
#endif
    found = true;
  }
#endif
  if (!found) {
    setOutput(base());
    return;
  }
#if BOOL_OR
  acc = acc != 0.0 ? 1.0 : 0.0;
#endif
  setOutput(acc);
}
