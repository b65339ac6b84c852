// Fused activations (the epilogue of _FusedMatMul, _FusedConv2D, ...), selected by ACTIVATION:
//   0 linear, 1 relu, 2 relu6, 3 elu, 4 sigmoid, 5 tanh, 6 leakyrelu, 7 prelu.
// `alpha` is LeakyRelu's slope or this element's PReLU weight (the caller reads it); others ignore it.
// NaN propagates through every activation, as in TensorFlow. It is tested up front: llvmpipe turns
// `x < 0.0 ? 0.0 : x` into a max() that drops NaN, and its tanh(NaN) is -1.
#ifndef ACTIVATION
#define ACTIVATION 0
#endif

float activate(float x, float alpha) {
  if (isnan_custom(x)) return x;
#if ACTIVATION == 1
  return x < 0.0 ? 0.0 : x;
#elif ACTIVATION == 2
  return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x);
#elif ACTIVATION == 3
  return x < 0.0 ? exp(x) - 1.0 : x;
#elif ACTIVATION == 4
  return 1.0 / (1.0 + exp(-x));
#elif ACTIVATION == 5
  return tanh(x);
#elif ACTIVATION == 6 || ACTIVATION == 7
  return x < 0.0 ? alpha * x : x;
#else
  return x;
#endif
}

// The whole epilogue as engine/kernels/webgl/fused.py describes it (FUSED_EPILOGUE defined):
// an inference batch norm (HAS_BATCHNORM: samplers BnScale, BnOffset, BnMean, BnVariance, with
// BN_EPSILON), then value + Bias (HAS_BIAS) + Addend (HAS_ADDEND), then the activation, reading
// the extra inputs (and PreluAlpha) broadcast against the output coordinates.
#ifdef FUSED_EPILOGUE
#ifndef HAS_BATCHNORM
#define HAS_BATCHNORM 0
#endif
float fusedEpilogue(float value) {
#if HAS_BATCHNORM
  // As the CPU kernel: (y - mean) * (scale / sqrt(variance + epsilon)) + offset.
  float bnFactor = getBnScaleAtOutCoords() / sqrt(getBnVarianceAtOutCoords() + BN_EPSILON);
  value = (value - getBnMeanAtOutCoords()) * bnFactor + getBnOffsetAtOutCoords();
#endif
#if HAS_BIAS
  value += getBiasAtOutCoords();
#endif
#if HAS_ADDEND
  value += getAddendAtOutCoords();
#endif
#if ACTIVATION == 7
  return activate(value, getPreluAlphaAtOutCoords());
#elif ACTIVATION == 6
  return activate(value, LEAKYRELU_ALPHA);
#else
  return activate(value, 0.0);
#endif
}
#endif

// The same epilogue on a packed texel (FUSED_EPILOGUE_PACKED): the extra inputs' getXAtOutCoords
// return the matching texel; no batch norm (those ops run unpacked).
#ifdef FUSED_EPILOGUE_PACKED
vec4 fusedEpilogue(vec4 value) {
#if HAS_BIAS
  value += getBiasAtOutCoords();
#endif
#if HAS_ADDEND
  value += getAddendAtOutCoords();
#endif
#if ACTIVATION == 7
  vec4 alpha = getPreluAlphaAtOutCoords();
#elif ACTIVATION == 6
  vec4 alpha = vec4(LEAKYRELU_ALPHA);
#else
  vec4 alpha = vec4(0.0);
#endif
  return vec4(activate(value.x, alpha.x), activate(value.y, alpha.y), activate(value.z, alpha.z),
              activate(value.w, alpha.w));
}
#endif
