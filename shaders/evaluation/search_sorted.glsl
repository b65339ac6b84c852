// LowerBound / UpperBound: out(b, i) is where V(b, i) goes in the sorted row A(b, 0 .. SORTED_SIZE),
// by the bisection of std::lower_bound (std::upper_bound with UPPER) step by step, so that NaNs land
// where TensorFlow puts them: comparisons with a NaN are false both ways (tested on the bits, which
// fast-math drivers keep).
bool less(float a, float b) { return !isnan_custom(a) && !isnan_custom(b) && a < b; }

void run() {
  ivec2 c = getOutputCoords();
  float value = getV(c.x, c.y);
  int first = 0;
  int length = SORTED_SIZE;
  while (length > 0) {
    int step = length / 2;
    int middle = first + step;
#if UPPER
    bool right = !less(value, getA(c.x, middle));
#else
    bool right = less(getA(c.x, middle), value);
#endif
    if (right) {
      first = middle + 1;
      length -= step + 1;
    } else {
      length = step;
    }
  }
  setOutput(float(first));
}
