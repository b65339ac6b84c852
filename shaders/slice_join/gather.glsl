// GatherV2 on flattened shapes: A (batch, outer, N, inner), I (batch, K) -> out (batch, outer, K, inner).
// Indices outside [0, N) give 0, as TF.js's GPU gather does (the kernel checks CPU-resident indices).
void run() {
  ivec4 c = getOutputCoords();
  int index = int(round(getI(c.x, c.z)));
  if (index < 0 || index >= A_SHAPE_2) { setOutput(0.0); return; }
  setOutput(getA(c.x, c.y, index, c.w));
}
