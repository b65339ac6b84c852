// ReciprocalGrad(y, dy) = -dy y^2.
float binary_op(float y, float dy) { return -dy * (y * y); }
