// Bincount of each row: A (ROWS, N) holds the values, W the same shape of weights (WEIGHTED);
// out (ROWS, SIZE): out[r, b] sums W[r, i] (or counts) over the i with A[r, i] == b, or with BINARY
// is 1 when any A[r, i] == b (weights ignored). Values outside [0, SIZE) land in no bin.
// Rows are read flat (r * N + i), so A and W may have any shape of ROWS * N values.
// The loop is unrolled 16 times by hand: llvmpipe ends a fragment's loops after 65535 iterations
// in all (the kernel keeps N / 16 below that).
float contribution(int i, int bin) {
#if WEIGHTED
  return int(round(getAFlat(i))) == bin ? getWFlat(i) : 0.0;
#else
  return int(round(getAFlat(i))) == bin ? 1.0 : 0.0;
#endif
}

void run() {
  ivec2 c = getOutputCoords();
  int start = c.x * N;
  int bin = c.y;
  float acc = 0.0;
  const int whole = N - N % 16;
  for (int i = start; i < start + whole; i += 16) {
    acc += contribution(i, bin) + contribution(i + 1, bin) + contribution(i + 2, bin) + contribution(i + 3, bin);
    acc += contribution(i + 4, bin) + contribution(i + 5, bin) + contribution(i + 6, bin) + contribution(i + 7, bin);
    acc += contribution(i + 8, bin) + contribution(i + 9, bin) + contribution(i + 10, bin) + contribution(i + 11, bin);
    acc += contribution(i + 12, bin) + contribution(i + 13, bin) + contribution(i + 14, bin) + contribution(i + 15, bin);
  }
  for (int i = start + whole; i < start + N; i++) acc += contribution(i, bin);
#if BINARY
  acc = acc != 0.0 ? 1.0 : 0.0;
#endif
  setOutput(acc);
}
