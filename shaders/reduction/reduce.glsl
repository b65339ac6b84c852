// One pass of a windowed row reduction (as TF.js's ReduceProgram): A is (batch, IN_SIZE);
// out[b, w] reduces A[b, w*WINDOW .. (w+1)*WINDOW) (clipped at IN_SIZE when PARTIAL).
// REDUCE_OP: 0 sum, 1 prod, 2 max, 3 min, 4 all, 5 any; REDUCE_INIT is its identity.
// PRE transforms values read in the first pass: 1 square, 2 exp(v - B[b, 0]) (softmax's sum).
// POST finishes the last pass: 1 divide by COUNT, 2 integer divide (truncating), 3 sqrt,
// 4 integer sqrt (floor).
float combine(float acc, float v) {
#if REDUCE_OP == 0
  return acc + v;
#elif REDUCE_OP == 1
  return acc * v;
#elif REDUCE_OP == 2
  if (isnan_custom(acc)) return acc;               // NaN wins and stays (tested on the bits: a
  return (isnan_custom(v) || v > acc) ? v : acc;   // select may become a NaN-dropping max())
#elif REDUCE_OP == 3
  if (isnan_custom(acc)) return acc;
  return (isnan_custom(v) || v < acc) ? v : acc;
#elif REDUCE_OP == 4
  return (acc != 0.0 && v != 0.0) ? 1.0 : 0.0;
#else
  return (acc != 0.0 || v != 0.0) ? 1.0 : 0.0;
#endif
}

float prepare(int row, float v) {
#if PRE == 1
  return v * v;
#elif PRE == 2
  return exp(v - getB(row, 0));
#else
  return v;
#endif
}

float finish(float acc) {
#if POST == 1
  return acc / float(COUNT);
#elif POST == 2
  int total = int(acc);
  int quotient = abs(total) / COUNT;
  return float(total < 0 ? -quotient : quotient);
#elif POST == 3
  return sqrt(acc);
#elif POST == 4
  int total = int(acc);
  int root = int(sqrt(acc));
  if (root * root > total) root -= 1;
  if ((root + 1) * (root + 1) <= total) root += 1;
  return float(root);
#else
  return acc;
#endif
}

void run() {
  ivec2 c = getOutputCoords();
  int start = c.y * WINDOW;
  float acc = REDUCE_INIT;
  for (int i = 0; i < WINDOW; i++) {
#if PARTIAL
    if (start + i >= IN_SIZE) break;
#endif
    acc = combine(acc, prepare(c.x, getA(c.x, start + i)));
  }
  setOutput(finish(acc));
}
