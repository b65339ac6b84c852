// Elementwise on a packed texel: unary_op on each of its four values.
void run() {
  vec4 a = getAAtOutCoords();
  setOutput(vec4(unary_op(a.x), unary_op(a.y), unary_op(a.z), unary_op(a.w)));
}
