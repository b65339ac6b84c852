// Needs lib_inverse_trig.glsl.
float unary_op(float x) { return tfgl_atan(x); }
