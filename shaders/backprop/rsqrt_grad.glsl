// RsqrtGrad(y, dy) = dy y^3 (-0.5).
float binary_op(float y, float dy) { return dy * (y * y * y) * -0.5; }
