// Halves each row of candidates: block pair t (a best-first and a best-last block of u_block, one
// bitonic sequence) becomes block t holding the better of positions p and p + u_block of the pair:
// the best u_block of the pair, again a bitonic sequence.
uniform int u_block;

void run() {
  ivec2 c = getOutputCoords();
  int first = (c.y / u_block) * 2 * u_block + c.y % u_block;
  int a = candidate(c.x, first), b = candidate(c.x, first + u_block);
  setOutput(float(ranksBefore(c.x, a, b) ? a : b));
}
