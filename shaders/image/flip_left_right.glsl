// TF.js's flipLeftRight: out (batch, height, width, channels) reads A at column width - 1 - x.
void run() {
  ivec4 c = getOutputCoords();
  setOutput(getA(c.x, c.y, A_SHAPE_2 - 1 - c.z, c.w));
}
