// out = A broadcast to the output shape (A's dims align with the output's trailing dims).
void run() { setOutput(getAAtOutCoords()); }
