// Multinomial: out(b, s) is the class that the uniform U(b, s) picks from row b of the cumulative
// weights C (b, CLASSES): the first class whose cumulative weight exceeds U * the row's total, found by
// bisection as the CPU kernel's numpy.searchsorted(side='right') finds it, NaN ordered after every
// number; past the last class (a NaN total), the last class.
bool before(float a, float b) { return isnan_custom(b) ? !isnan_custom(a) : a < b; }

void run() {
  ivec2 c = getOutputCoords();
  float target = getU(c.x, c.y) * getC(c.x, CLASSES - 1);
  int first = 0;
  int length = CLASSES;
  while (length > 0) {
    int step = length / 2;
    int middle = first + step;
    if (before(target, getC(c.x, middle))) {
      length = step;
    } else {
      first = middle + 1;
      length -= step + 1;
    }
  }
  setOutput(float(min(first, CLASSES - 1)));
}
