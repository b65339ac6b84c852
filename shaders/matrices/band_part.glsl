// MatrixBandPart over (batch, rows, cols): keeps row - col <= numLower and col - row <= numUpper;
// a negative bound keeps that whole triangle.
uniform int numLower;
uniform int numUpper;

void run() {
  ivec3 c = getOutputCoords();
  int below = c.y - c.z;
  bool keep = (numLower < 0 || below <= numLower) && (numUpper < 0 || -below <= numUpper);
  setOutput(keep ? getAFlat(getOutputFlatIndex()) : 0.0);
}
