// One pass of a merge sort along each row of candidates: input blocks of u_inBlock, sorted best
// first, are merged in pairs into output blocks of u_outBlock (twice the input's, or k rounded up once
// blocks reach it: the rest of a pair's merge is dropped, which halves the row). Each output position
// p of block t finds how many of its p betters come from the first block of pair t by a binary search
// (a merge path), then takes the better of the two next candidates: log2(u_inBlock) + 1 compares.
uniform int u_inBlock;
uniform int u_outBlock;

void run() {
  ivec2 c = getOutputCoords();
  int p = c.y % u_outBlock;
  int first = (c.y / u_outBlock) * 2 * u_inBlock, second = first + u_inBlock;
  int lo = max(0, p - u_inBlock), hi = min(p, u_inBlock);
  while (lo < hi) {
    int middle = (lo + hi) / 2;
    if (ranksBefore(c.x, candidate(c.x, first + middle), candidate(c.x, second + p - middle - 1))) {
      lo = middle + 1;
    } else {
      hi = middle;
    }
  }
  int fromSecond = p - lo;
  int a = lo < u_inBlock ? candidate(c.x, first + lo) : -1;
  int b = fromSecond < u_inBlock ? candidate(c.x, second + fromSecond) : -1;
  setOutput(float(b < 0 || (a >= 0 && ranksBefore(c.x, a, b)) ? a : b));
}
