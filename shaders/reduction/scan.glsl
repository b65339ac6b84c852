// Cumsum / Cumprod along axis 1 of A (outer, SCAN_SIZE, inner), one fragment per output element
// accumulating in order (short axes). EXCLUSIVE leaves out the element itself, REVERSE runs from
// the end; PROD picks the product.
float combine(float acc, float v) {
#if PROD
  return acc * v;
#else
  return acc + v;
#endif
}

void run() {
  ivec3 c = getOutputCoords();
  float acc = IDENTITY;
#if REVERSE
  for (int k = SCAN_SIZE - 1; k >= 0; k--) {
#if EXCLUSIVE
    if (k <= c.y) break;
#else
    if (k < c.y) break;
#endif
    acc = combine(acc, getA(c.x, k, c.z));
  }
#else
  for (int k = 0; k < SCAN_SIZE; k++) {
#if EXCLUSIVE
    if (k >= c.y) break;
#else
    if (k > c.y) break;
#endif
    acc = combine(acc, getA(c.x, k, c.z));
  }
#endif
  setOutput(acc);
}
