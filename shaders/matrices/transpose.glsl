// Transpose: out[c] = A[c permuted]. matrices.py collapses the permutation first (unit dims dropped,
// axes that stay neighbours merged) and defines COORDS_TYPE and TRANSPOSE_READ, a getA(...) call
// over the output coordinates c in the input's axis order.
void run() {
  COORDS_TYPE c = getOutputCoords();
  setOutput(TRANSPOSE_READ);
}
