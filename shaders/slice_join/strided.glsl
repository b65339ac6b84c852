// An affine gather: out[c] = A's flat element u_base + sum_i u_step[i] * c[i]. Slice, StridedSlice,
// Split, Unpack and Reverse all are this map (steps are input strides times slice strides; output
// dimensions of size 1 are dropped beforehand, so every step is live and no array entry is optimized out).
uniform int u_base;
#if OUT_RANK > 0
uniform int u_step[OUT_RANK];
#endif

void run() {
  int c[6];
  outCoords(c);
  int index = u_base;
#if OUT_RANK > 0
  for (int i = 0; i < OUT_RANK; i++) index += u_step[i] * c[i];
#endif
  setOutput(getAFlat(index));
}
