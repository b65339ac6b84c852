// Needs lib_trig.glsl.
float unary_op(float x) { return tfgl_sin(x); }
