// LeakyReluGrad(dy, x): dy where x > 0, else alpha dy (ALPHA a define: a model has few alphas).
float binary_op(float dy, float x) { return x > 0.0 ? dy : dy * float(ALPHA); }
