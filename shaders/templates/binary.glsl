// Elementwise with broadcasting: out = binary_op(A, B).
void run() { setOutput(binary_op(getAAtOutCoords(), getBAtOutCoords())); }
