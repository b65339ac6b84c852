// One step of a Hillis-Steele scan along axis 1 of A (outer, SCAN_SIZE, inner) for long axes:
// out[p] = A[p] op A[p - scanStep] (p + scanStep when REVERSE), for scanStep = 1, 2, 4, ...
// With SHIFT (the first step of an exclusive scan) A is read shifted by one toward the end the
// scan runs to, with IDENTITY entering at the start.
uniform int scanStep;

float combine(float acc, float v) {
#if PROD
  return acc * v;
#else
  return acc + v;
#endif
}

float valueAt(int outer, int p, int inner) {
#if SHIFT
#if REVERSE
  p += 1;
#else
  p -= 1;
#endif
  if (p < 0 || p >= SCAN_SIZE) return IDENTITY;
#endif
  return getA(outer, p, inner);
}

void run() {
  ivec3 c = getOutputCoords();
  float v = valueAt(c.x, c.y, c.z);
#if REVERSE
  int q = c.y + scanStep;
  if (q < SCAN_SIZE) v = combine(v, valueAt(c.x, q, c.z));
#else
  int q = c.y - scanStep;
  if (q >= 0) v = combine(v, valueAt(c.x, q, c.z));
#endif
  setOutput(v);
}
