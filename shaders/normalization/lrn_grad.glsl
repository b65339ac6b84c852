// LRNGrad over the channels of (pixels, CHANNELS) tensors Dy (the output's gradient), X (LRN's input)
// and Y (its output): dx_j = dy_j norm_j^-beta - 2 alpha beta x_j * sum over the channels k whose
// window holds j of dy_k y_k / norm_k, where norm_k = bias + alpha * (sum of x^2 in k's window), as
// TensorFlow's LRNGrad. The windows are symmetric, so those k are j's own window.
uniform int depthRadius;
uniform float lrnBias;
uniform float lrnAlpha;
uniform float lrnBeta;

float windowNorm(int pixel, int k) {
  float sum = 0.0;
  for (int i = max(k - depthRadius, 0); i <= min(k + depthRadius, CHANNELS - 1); i++) {
    float v = getX(pixel, i);
    sum += v * v;
  }
  return lrnBias + lrnAlpha * sum;
}

void run() {
  ivec2 c = getOutputCoords();
  float spread = 0.0;
  for (int k = max(c.y - depthRadius, 0); k <= min(c.y + depthRadius, CHANNELS - 1); k++) {
    spread += getDy(c.x, k) * getY(c.x, k) / windowNorm(c.x, k);
  }
  float norm = windowNorm(c.x, c.y);
  float scaled = lrnBeta == 0.0 ? 1.0 : exp2(-lrnBeta * log2(norm));  // norm > 0 (the CPU kernel takes others)
  setOutput(getDy(c.x, c.y) * scaled - 2.0 * lrnAlpha * lrnBeta * getX(c.x, c.y) * spread);
}
