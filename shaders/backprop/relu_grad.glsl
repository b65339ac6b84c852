// ReluGrad(dy, x): dy times the 0/1 mask x > 0 (a NaN dy stays NaN, as TensorFlow's product).
float binary_op(float dy, float x) { return dy * (x > 0.0 ? 1.0 : 0.0); }
