// Elementwise with broadcasting over three inputs: out = ternary_op(A, B, C).
void run() { setOutput(ternary_op(getAAtOutCoords(), getBAtOutCoords(), getCAtOutCoords())); }
