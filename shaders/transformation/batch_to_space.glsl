// BatchToSpaceND: spatial coordinate y (after the crop) splits into y / block in A's space and
// y % block, which (row-major over the SPATIAL block dims) selects the batch slab of A.
uniform int u_block[SPATIAL];
uniform int u_crop[SPATIAL];

void run() {
  int c[6];
  outCoords(c);
  int offset = 0;
  for (int i = 1; i <= SPATIAL; i++) {
    int block = u_block[i - 1];
    int full = c[i] + u_crop[i - 1];
    int q = divInt(full, block);
    offset = offset * block + (full - q * block);
    c[i] = q;
  }
  c[0] += offset * OUT_SHAPE_0;
  setOutput(readA(c));
}
