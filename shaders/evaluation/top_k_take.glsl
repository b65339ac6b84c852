// TopKV2's outputs from the sorted candidates I: the first k of each row (out (batch, k)), as indices
// or (VALUES) as the values of A they point at.
void run() {
  ivec2 c = getOutputCoords();
  float index = getI(c.x, c.y);
#if VALUES
  setOutput(getA(c.x, int(index)));
#else
  setOutput(index);
#endif
}
