// OneHot on flattened shapes: I (outer, inner) -> out (outer, depth, inner); on where the index equals
// the depth coordinate, off elsewhere (indices outside [0, depth) give a row of off).
uniform float u_on;
uniform float u_off;
void run() {
  ivec3 c = getOutputCoords();
  setOutput(int(round(getI(c.x, c.z))) == c.y ? u_on : u_off);
}
