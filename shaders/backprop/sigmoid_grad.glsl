// SigmoidGrad(y, dy) = dy y (1 - y).
float binary_op(float y, float dy) { return dy * (y * (1.0 - y)); }
