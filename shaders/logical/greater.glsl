// False whenever a NaN is involved.
float binary_op(float a, float b) { return (!isnan_custom(a) && !isnan_custom(b) && a > b) ? 1.0 : 0.0; }
