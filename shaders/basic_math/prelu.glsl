// TF.js's PReLU: alpha (broadcast against x) scales the negative part. NaN x stays NaN.
float binary_op(float x, float alpha) {
  if (isnan_custom(x)) return x;
  return x < 0.0 ? alpha * x : x;
}
