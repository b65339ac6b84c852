// Local response normalization over the channels of A (pixels, CHANNELS):
//   out = x / (bias + alpha * sum of squares in the window [c - r, c + r]) ^ beta.
// TensorFlow sums the window by contracting all the squares with a 0/1 band matrix, so a
// non-finite square outside the window still turns the sum NaN (Inf * 0); so does this.
uniform int depthRadius;
uniform float lrnBias;
uniform float lrnAlpha;
uniform float lrnBeta;

// scale ^ -beta with IEEE's special cases (GLSL's pow leaves NaN, 0 and Inf undefined).
float negativePower(float scale) {
  if (lrnBeta == 0.0) return 1.0;
  if (isnan_custom(scale)) return NAN;
  if (scale < 0.0) {  // only integral exponents of negative bases are real
    if (fract(lrnBeta) != 0.0) return NAN;
    float magnitude = isinf_custom(scale) ? (lrnBeta > 0.0 ? 0.0 : INFINITY) : exp2(-lrnBeta * log2(-scale));
    return mod(lrnBeta, 2.0) == 1.0 ? -magnitude : magnitude;
  }
  if (scale == 0.0) return lrnBeta > 0.0 ? INFINITY : 0.0;
  if (isinf_custom(scale)) return lrnBeta > 0.0 ? 0.0 : INFINITY;
  return exp2(-lrnBeta * log2(scale));
}

void run() {
  ivec2 c = getOutputCoords();
  float sum = 0.0;
  for (int k = 0; k < CHANNELS; k++) {
    float v = getA(c.x, k);
    float square = v * v;
    if (abs(k - c.y) <= depthRadius) {
      sum += square;
    } else if (isnan_custom(square) || isinf_custom(square)) {
      sum = NAN;
    }
  }
  setOutput(getA(c.x, c.y) * negativePower(lrnBias + lrnAlpha * sum));
}
