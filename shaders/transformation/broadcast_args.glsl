// BroadcastArgs: A and B are shape vectors, aligned at their ends; out has the longer one's length.
// Missing leading dims are 1; out[k] = a when b == 1, else b (incompatible pairs are the kernel's
// check, on the CPU, when the values are there).
void run() {
  int k = getOutputFlatIndex();
  int ia = k - (OUT_SHAPE_0 - A_SHAPE_0);
  int ib = k - (OUT_SHAPE_0 - B_SHAPE_0);
  float a = ia >= 0 ? getAFlat(ia) : 1.0;
  float b = ib >= 0 ? getBFlat(ib) : 1.0;
  setOutput(b == 1.0 ? a : b);
}
