// N-d index helpers for programs that map each output element to one element of input A.
// Coordinates live in int[6] arrays (rank <= 6); unused trailing entries stay 0.
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

// The output coordinates of this fragment, outermost first: the header's, which shape-generic
// headers take from gl_FragCoord where the texture allows.
void outCoords(out int c[6]) {
  c = int[6](0, 0, 0, 0, 0, 0);
#if OUT_RANK == 1
  c[0] = getOutputCoords();
#elif OUT_RANK == 2
  ivec2 o = getOutputCoords();
  c[0] = o.x; c[1] = o.y;
#elif OUT_RANK == 3
  ivec3 o = getOutputCoords();
  c[0] = o.x; c[1] = o.y; c[2] = o.z;
#elif OUT_RANK == 4
  ivec4 o = getOutputCoords();
  c[0] = o.x; c[1] = o.y; c[2] = o.z; c[3] = o.w;
#elif OUT_RANK == 5
  ivec5 o = getOutputCoords();
  c[0] = o.x; c[1] = o.y; c[2] = o.z; c[3] = o.w; c[4] = o.u;
#elif OUT_RANK == 6
  ivec6 o = getOutputCoords();
  c[0] = o.x; c[1] = o.y; c[2] = o.z; c[3] = o.w; c[4] = o.u; c[5] = o.v;
#endif
}

// A's element at coordinates c (inside its shape): the header's getA, which reads a texture of
// A's rows along y without dividing.
float readA(int c[6]) {
#if A_RANK == 0
  return getA();
#elif A_RANK == 1
  return getA(c[0]);
#elif A_RANK == 2
  return getA(c[0], c[1]);
#elif A_RANK == 3
  return getA(c[0], c[1], c[2]);
#elif A_RANK == 4
  return getA(c[0], c[1], c[2], c[3]);
#elif A_RANK == 5
  return getA(c[0], c[1], c[2], c[3], c[4]);
#else
  return getA(c[0], c[1], c[2], c[3], c[4], c[5]);
#endif
}
