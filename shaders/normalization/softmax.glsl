// Softmax / LogSoftmax of rows A (batch, n), given each row's max M (batch, 1) and its sum of
// exp(A - max) S (batch, 1), both reduced by earlier passes. A row holding NaN or +Inf (or only
// -Inf) comes out all NaN through IEEE arithmetic alone (max NaN / Inf - Inf / exp(NaN)), as the
// CPU kernel and TensorFlow's Eigen kernel.
void run() {
  ivec2 c = getOutputCoords();
  float shifted = getA(c.x, c.y) - getM(c.x, 0);
#if LOG_SOFTMAX
  setOutput(shifted - log(getS(c.x, 0)));
#else
  setOutput(exp(shifted) / getS(c.x, 0));
#endif
}
