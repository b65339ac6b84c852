// Unpacked -> packed: the texel of matrix b at rows r, r+1 and cols c, c+1 of an input viewed as
// (batch, rows, cols); values past the matrix stay zero.
void run() {
  ivec3 p = getOutputCoords();
  int index = (p.x * A_SHAPE_1 + p.y) * A_SHAPE_2 + p.z;
  bool hasCol = p.z + 1 < A_SHAPE_2, hasRow = p.y + 1 < A_SHAPE_1;
  setOutput(vec4(getAFlat(index), hasCol ? getAFlat(index + 1) : 0.0,
                 hasRow ? getAFlat(index + A_SHAPE_2) : 0.0,
                 hasRow && hasCol ? getAFlat(index + A_SHAPE_2 + 1) : 0.0));
}
