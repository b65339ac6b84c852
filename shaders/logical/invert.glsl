// ~x in the op's own integer type: BITS (8, 16 or 32) and SIGNED choose how the result wraps
// (~5 is 250 for uint8, -6 for int8).
float unary_op(float x) {
  int r = ~int(x);
#if BITS < 32
#if SIGNED
  r = (r << (32 - BITS)) >> (32 - BITS);
#else
  r &= (1 << BITS) - 1;
#endif
#endif
  return float(r);
}
