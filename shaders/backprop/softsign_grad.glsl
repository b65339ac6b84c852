// SoftsignGrad(dy, x) = dy / (1 + |x|)^2.
float binary_op(float dy, float x) {
  float d = 1.0 + abs(x);
  return dy / (d * d);
}
