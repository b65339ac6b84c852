// Constant padding: out[c] = A[c - before], or u_value where that lies outside A.
uniform int u_before[OUT_RANK];
uniform float u_value;

void run() {
  int c[6];
  outCoords(c);
  int s[6];
  aShape(s);
  for (int i = 0; i < OUT_RANK; i++) {
    c[i] -= u_before[i];
    if (c[i] < 0 || c[i] >= s[i]) { setOutput(u_value); return; }
  }
  setOutput(readA(c));
}
