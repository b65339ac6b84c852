// A fused epilogue (bias / addend / batch norm, then activation) on an already summed product.
void run() { setOutput(fusedEpilogue(getAAtOutCoords())); }
