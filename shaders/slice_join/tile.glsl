// out[c] = A[c mod A.shape] in every dimension.
void run() {
  int c[6];
  outCoords(c);
  int s[6];
  aShape(s);
  for (int i = 0; i < A_RANK; i++) c[i] = c[i] - divInt(c[i], s[i]) * s[i];
  setOutput(readA(c));
}
