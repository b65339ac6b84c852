// Needs lib_exp.glsl.
float unary_op(float x) { return tfgl_exp(x); }
