// Needs lib_exp.glsl. SoftplusGrad(dy, x) = dy / (1 + exp(-x)), TensorFlow's form (so an infinite dy
// over an overflowing exp is NaN there too).
float binary_op(float dy, float x) { return dy / (1.0 + tfgl_exp(-x)); }
