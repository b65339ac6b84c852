// N-d index helpers for programs that map each output element to one element of input A.
// Coordinates live in int[6] arrays (rank <= 6); unused trailing entries stay 0.
void outShape(out int s[6]) {
  s = int[6](1, 1, 1, 1, 1, 1);
#if OUT_RANK > 0
  s[0] = OUT_SHAPE_0;
#endif
#if OUT_RANK > 1
  s[1] = OUT_SHAPE_1;
#endif
#if OUT_RANK > 2
  s[2] = OUT_SHAPE_2;
#endif
#if OUT_RANK > 3
  s[3] = OUT_SHAPE_3;
#endif
#if OUT_RANK > 4
  s[4] = OUT_SHAPE_4;
#endif
#if OUT_RANK > 5
  s[5] = OUT_SHAPE_5;
#endif
}

void aShape(out int s[6]) {
  s = int[6](1, 1, 1, 1, 1, 1);
#if A_RANK > 0
  s[0] = A_SHAPE_0;
#endif
#if A_RANK > 1
  s[1] = A_SHAPE_1;
#endif
#if A_RANK > 2
  s[2] = A_SHAPE_2;
#endif
#if A_RANK > 3
  s[3] = A_SHAPE_3;
#endif
#if A_RANK > 4
  s[4] = A_SHAPE_4;
#endif
#if A_RANK > 5
  s[5] = A_SHAPE_5;
#endif
}

// The output coordinates of this fragment, outermost first.
void outCoords(out int c[6]) {
  int s[6];
  outShape(s);
  c = int[6](0, 0, 0, 0, 0, 0);
  int rest = getOutputFlatIndex();
  for (int i = OUT_RANK - 1; i > 0; i--) {
    int q = divInt(rest, s[i]);
    c[i] = rest - q * s[i];
    rest = q;
  }
  c[0] = rest;
}

// Row-major flat index of coordinates c in A.
int flatA(int c[6]) {
  int s[6];
  aShape(s);
  int f = 0;
  for (int i = 0; i < A_RANK; i++) f = f * s[i] + c[i];
  return f;
}
