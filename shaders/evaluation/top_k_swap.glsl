// One compare-exchange step of a bitonic network along each row of candidates (batch, length):
// position i pairs with i ^ u_stride; the lower position of a pair keeps the better candidate when
// (i & u_directionBit) == 0 and the worse one otherwise, so blocks come out alternately best-first and
// best-last, and two neighbouring blocks make one bitonic sequence.
uniform int u_stride;
uniform int u_directionBit;

void run() {
  ivec2 c = getOutputCoords();
  int partner = c.y ^ u_stride;
  int mine = candidate(c.x, c.y), theirs = candidate(c.x, partner);
  bool keepBetter = (c.y < partner) == ((c.y & u_directionBit) == 0);
  setOutput(float(ranksBefore(c.x, mine, theirs) == keepBetter ? mine : theirs));
}
