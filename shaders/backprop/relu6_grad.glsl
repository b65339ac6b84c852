// Relu6Grad(dy, x): dy times the 0/1 mask 0 < x < 6.
float binary_op(float dy, float x) { return dy * (x > 0.0 && x < 6.0 ? 1.0 : 0.0); }
