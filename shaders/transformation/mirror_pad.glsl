// MirrorPad: coordinates before / after A reflect back into it. MIRROR_OFFSET is 1 for REFLECT
// (the edge value is not repeated) and 0 for SYMMETRIC (it is).
uniform int u_before[OUT_RANK];

void run() {
  int c[6];
  outCoords(c);
  int s[6];
  aShape(s);
  for (int i = 0; i < OUT_RANK; i++) {
    int k = c[i] - u_before[i];
    if (k < 0) k = -k - 1 + MIRROR_OFFSET;
    else if (k >= s[i]) k = 2 * s[i] - 1 - k - MIRROR_OFFSET;
    c[i] = k;
  }
  setOutput(readA(c));
}
