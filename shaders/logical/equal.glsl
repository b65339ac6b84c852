// IEEE comparisons, NaN written out (compilers may fold NaN comparisons): NaN equals nothing.
float binary_op(float a, float b) { return (!isnan_custom(a) && !isnan_custom(b) && a == b) ? 1.0 : 0.0; }
