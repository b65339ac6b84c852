// Elementwise on packed texels: binary_op on each pair of values (B same shape, a scalar or a
// vector along the last dim).
void run() {
  vec4 a = getAAtOutCoords(), b = getBAtOutCoords();
  setOutput(vec4(binary_op(a.x, b.x), binary_op(a.y, b.y), binary_op(a.z, b.z), binary_op(a.w, b.w)));
}
