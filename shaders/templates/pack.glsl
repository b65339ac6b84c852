// Unpacked -> packed: the texel of matrix b at rows r, r+1 and cols c, c+1 of an input viewed as
// (batch, rows, cols); values past the matrix stay zero.
void run() {
  ivec3 p = getOutputCoords();
  bool hasCol = p.z + 1 < A_SHAPE_2, hasRow = p.y + 1 < A_SHAPE_1;
  setOutput(vec4(getA(p.x, p.y, p.z), hasCol ? getA(p.x, p.y, p.z + 1) : 0.0,
                 hasRow ? getA(p.x, p.y + 1, p.z) : 0.0, hasRow && hasCol ? getA(p.x, p.y + 1, p.z + 1) : 0.0));
}
