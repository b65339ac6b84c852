// Packed -> unpacked: each value taken from its texel's component, (row & 1) * 2 + (col & 1).
void run() {
  ivec3 p = getOutputCoords();
  vec4 texel = getA(p.x, p.y, p.z);
  int component = (p.y & 1) * 2 + (p.z & 1);
  setOutput(component == 0 ? texel.x : component == 1 ? texel.y : component == 2 ? texel.z : texel.w);
}
