// Diag of a flat diagonal A (n): out (n, n) is A[i] at (i, i), 0 elsewhere.
void run() {
  ivec2 c = getOutputCoords();
  setOutput(c.x == c.y ? getA(c.x) : 0.0);
}
