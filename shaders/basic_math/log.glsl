// Needs lib_log.glsl.
float unary_op(float x) { return tfgl_log(x); }
