// SpaceToBatchND: output batch index = block offset (row-major over the SPATIAL block dims) * batch + b;
// spatial coordinate y reads padded input y * block + offset, i.e. A at that minus the padding before.
uniform int u_block[SPATIAL];
uniform int u_pad[SPATIAL];

void run() {
  int c[6];
  outCoords(c);
  int s[6];
  aShape(s);
  int offset = divInt(c[0], A_SHAPE_0);
  c[0] -= offset * A_SHAPE_0;
  for (int i = SPATIAL; i >= 1; i--) {
    int block = u_block[i - 1];
    int q = divInt(offset, block);
    int k = c[i] * block + (offset - q * block) - u_pad[i - 1];
    offset = q;
    if (k < 0 || k >= s[i]) { setOutput(0.0); return; }
    c[i] = k;
  }
  setOutput(readA(c));
}
