// One pass of a windowed arg-extremum (as TF.js's ArgMinMaxProgram). A is the values (batch, n).
// The first pass scans A[b, w*WINDOW ..); later passes scan the candidate indices I (batch, IN_SIZE)
// the previous pass found, reading their values from A. A value wins only if strictly better than
// the best so far, starting from START (TensorFlow's reducer: the lowest finite float for ArgMax,
// so NaN, -inf and the lowest value never win and such a slice reports index 0).
bool better(float v, float best) {
#if LARGEST
  return !isnan_custom(v) && v > best;
#else
  return !isnan_custom(v) && v < best;
#endif
}

int candidate(int row, int k) {
#if FIRST_PASS
  return k;
#else
  return int(getI(row, k));
#endif
}

void run() {
  ivec2 c = getOutputCoords();
  int start = c.y * WINDOW;
  float best = START;
  int bestIndex = candidate(c.x, start);
  for (int i = 0; i < WINDOW; i++) {
#if PARTIAL
    if (start + i >= IN_SIZE) break;
#endif
    int index = candidate(c.x, start + i);
    float v = getA(c.x, index);
    if (better(v, best)) {
      best = v;
      bestIndex = index;
    }
  }
  setOutput(float(bestIndex));
}
