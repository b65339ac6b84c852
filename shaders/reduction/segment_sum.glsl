// UnsortedSegmentSum: A (N, inner) the data, S (N) the segment ids; out (segments, inner): out[s, j]
// adds up A[i, j] over the i with S[i] == s one by one in ascending i, TensorFlow's order, so float
// sums round alike. Negative ids (and ids past the last segment, which the kernel rejects when it
// can see them) match no row. Unrolled 16 times by hand: llvmpipe ends a fragment's loops after
// 65535 iterations in all (the kernel keeps N / 16 below that).
#define ADD(i) if (int(round(getS(i))) == s) acc += getA(i, j);

void run() {
  ivec2 c = getOutputCoords();
  int s = c.x, j = c.y;
  float acc = 0.0;
  const int whole = N - N % 16;
  for (int i = 0; i < whole; i += 16) {
    ADD(i) ADD(i + 1) ADD(i + 2) ADD(i + 3) ADD(i + 4) ADD(i + 5) ADD(i + 6) ADD(i + 7)
    ADD(i + 8) ADD(i + 9) ADD(i + 10) ADD(i + 11) ADD(i + 12) ADD(i + 13) ADD(i + 14) ADD(i + 15)
  }
  for (int i = whole; i < N; i++) { ADD(i) }
  setOutput(acc);
}
