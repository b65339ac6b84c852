// GatherNd on flattened shapes: A (slices, slice_size), I (count, DEPTH) -> out (count, slice_size).
// STRIDES and LIMITS list, per index component, its stride in slices and its dimension (sizes:
// defines, or uniforms when shape-generic). Index tuples outside params give 0, as TF.js's GPU
// gather_nd does (the kernel checks CPU-resident indices).
void run() {
  ivec2 c = getOutputCoords();
  int strides[DEPTH] = int[DEPTH](STRIDES);
  int limits[DEPTH] = int[DEPTH](LIMITS);
  int slice = 0;
  for (int j = 0; j < DEPTH; j++) {
    int index = int(round(getI(c.x, j)));
    if (index < 0 || index >= limits[j]) { setOutput(0.0); return; }
    slice += index * strides[j];
  }
  setOutput(getA(slice, c.y));
}
