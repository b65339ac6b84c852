// Elementwise: out = unary_op(A) at every output element.
void run() { setOutput(unary_op(getAAtOutCoords())); }
