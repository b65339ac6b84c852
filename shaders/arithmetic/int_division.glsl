// Integer division for int32 tensors, exact for the values float texels hold exactly (|v| < 2^24).
// Magnitudes divide as unsigned ints (GLSL leaves signed division of negatives to the driver), then
// take their signs: (quotient truncated toward zero, remainder with the dividend's sign), as C and
// TensorFlow's Div and Mod on ints. Divisors are never 0 here: the kernels check them on the CPU.
ivec2 truncated_division(float a, float b) {
  int ia = int(round(a));
  int ib = int(round(b));
  uint ua = uint(abs(ia));
  uint ub = uint(abs(ib));
  int q = int(ua / ub);
  int r = int(ua % ub);
  return ivec2((ia < 0) != (ib < 0) ? -q : q, ia < 0 ? -r : r);
}

// Floored division (Python's //, TensorFlow's FloorDiv and FloorMod on ints): a nonzero remainder of
// the other sign than the divisor moves the quotient down by one and the remainder up by the divisor.
ivec2 floored_division(float a, float b) {
  ivec2 qr = truncated_division(a, b);
  int ib = int(round(b));
  return qr.y != 0 && ((qr.y < 0) != (ib < 0)) ? ivec2(qr.x - 1, qr.y + ib) : qr;
}
