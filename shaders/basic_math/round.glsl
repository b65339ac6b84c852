// Half to even, as TensorFlow (Round and Rint). |x| >= 2^23 is already an integer, kept as is (an
// implementation of roundEven through x + 2^23 - 2^23 would not keep it); integers are unchanged.
float unary_op(float x) {
  if (isnan_custom(x) || abs(x) >= 8388608.0) return x;
  return roundEven(x);
}
