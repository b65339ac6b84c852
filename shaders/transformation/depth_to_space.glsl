// DepthToSpace (BLOCK x BLOCK): out pixel (y, x) channel c reads A at (y / BLOCK, x / BLOCK),
// channel ((y % BLOCK) * BLOCK + x % BLOCK) * C + c. NCHW is set for channels-first data.
void run() {
  ivec4 o = getOutputCoords();
#if NCHW
  int c = o.y, y = o.z, x = o.w, depth = OUT_SHAPE_1;
#else
  int y = o.y, x = o.z, c = o.w, depth = OUT_SHAPE_3;
#endif
  int channel = ((y % BLOCK) * BLOCK + x % BLOCK) * depth + c;
#if NCHW
  setOutput(getA(o.x, channel, y / BLOCK, x / BLOCK));
#else
  setOutput(getA(o.x, y / BLOCK, x / BLOCK, channel));
#endif
}
