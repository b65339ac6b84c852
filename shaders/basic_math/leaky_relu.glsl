// x for x > 0, else alpha x (a uniform, so every alpha shares one program). NaN stays NaN.
uniform float alpha;
float unary_op(float x) {
  if (isnan_custom(x)) return x;
  return x > 0.0 ? x : x * alpha;
}
