// GatherNd on flattened shapes: A (slices, slice_size), I (count, DEPTH) -> out (count, slice_size).
// STRIDES and LIMITS list, per index component, its stride in slices and its dimension; MAX_DEPTH
// (a define) sizes them, DEPTH components are read (sizes: defines, or uniforms when shape-generic).
// Index tuples outside params give 0, as TF.js's GPU gather_nd does (the kernel checks CPU-resident
// indices).
void run() {
  ivec2 c = getOutputCoords();
  int strides[MAX_DEPTH] = int[MAX_DEPTH](STRIDES);
  int limits[MAX_DEPTH] = int[MAX_DEPTH](LIMITS);
  int slice = 0;
  for (int j = 0; j < MAX_DEPTH; j++) {
    if (j == DEPTH) break;
    int index = int(round(getI(c.x, j)));
    if (index < 0 || index >= limits[j]) { setOutput(0.0); return; }
    slice += index * strides[j];
  }
  setOutput(getA(slice, c.y));
}
