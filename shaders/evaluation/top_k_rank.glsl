// TopKV2's order over candidate indices into the rows of A (batch, u_rowSize): larger values first,
// NaN above everything, equal values (and NaNs) by lower index; indices from u_rowSize on pad a row
// to a power of two and come last. A strict total order on distinct indices, so that a merge of
// two sorted blocks is unique.
uniform int u_rowSize;

bool ranksBefore(int row, int a, int b) {
  bool aPadding = a >= u_rowSize, bPadding = b >= u_rowSize;
  if (aPadding || bPadding) return aPadding == bPadding ? a < b : bPadding;
  float va = getA(row, a), vb = getA(row, b);
  bool aNan = isnan_custom(va), bNan = isnan_custom(vb);
  if (aNan || bNan) return aNan && (!bNan || a < b);
  return va > vb || (va == vb && a < b);
}

// The candidate at position i of a row: i itself before the first pass, else what I holds.
int candidate(int row, int i) {
#if FIRST_PASS
  return i;
#else
  return int(getI(row, i));
#endif
}
