// Integers stay exact while |x| <= 4096 (x^2 <= 2^24).
float unary_op(float x) { return x * x; }
