// The activation of fused kernels (_FusedMatMul, _FusedConv2D, ...), selected by ACTIVATION:
//   0 linear, 1 relu, 2 relu6, 3 elu, 4 sigmoid, 5 tanh, 6 leakyrelu, 7 prelu.
// It is the standalone op's own function, so that both give the same values: fused.py puts the op's
// shader (basic_math/<op>.glsl, after its libraries) before this file. That shader defines unary_op,
// or binary_op(x, alpha) for PReLU, called with this element's weight; LeakyRelu's slope is its
// uniform leakyReluAlpha. Each keeps NaN, as TensorFlow.
#ifndef ACTIVATION
#define ACTIVATION 0
#endif

float activate(float x, float preluAlpha) {
#if ACTIVATION == 0
  return x;
#elif ACTIVATION == 7
  return binary_op(x, preluAlpha);
#else
  return unary_op(x);
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
#else
  vec4 alpha = vec4(0.0);
#endif
  return vec4(activate(value.x, alpha.x), activate(value.y, alpha.y), activate(value.z, alpha.z),
              activate(value.w, alpha.w));
}
#endif
