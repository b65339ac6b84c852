// Needs lib_exp.glsl. scale x for x > 0, else scale alpha expm1(x) (constants as float32, like TensorFlow).
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return x > 0.0 ? 1.05070098735548049 * x : 1.75809934084737685 * tfgl_expm1(x);
}
