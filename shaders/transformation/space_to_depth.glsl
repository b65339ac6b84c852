// SpaceToDepth (BLOCK x BLOCK): out channel d = (dy * BLOCK + dx) * C + c at pixel (y, x) reads A at
// (y * BLOCK + dy, x * BLOCK + dx), channel c. NCHW is set for channels-first data.
void run() {
  ivec4 o = getOutputCoords();
#if NCHW
  int d = o.y, y = o.z, x = o.w, depth = A_SHAPE_1;
#else
  int y = o.y, x = o.z, d = o.w, depth = A_SHAPE_3;
#endif
  int c = d % depth;
  int dx = (d / depth) % BLOCK;
  int dy = d / (depth * BLOCK);
#if NCHW
  setOutput(getA(o.x, c, y * BLOCK + dy, x * BLOCK + dx));
#else
  setOutput(getA(o.x, y * BLOCK + dy, x * BLOCK + dx, c));
#endif
}
