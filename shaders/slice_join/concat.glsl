// Concatenation of NUM_INPUTS 2-D inputs T0..T7 (outer, inner_k) along their columns; input k
// starts at column OFFSET_k of the output (outer, sum of inner_k).
void run() {
  ivec2 c = getOutputCoords();
#if NUM_INPUTS > 7
  if (c.y >= OFFSET_7) { setOutput(getT7(c.x, c.y - OFFSET_7)); return; }
#endif
#if NUM_INPUTS > 6
  if (c.y >= OFFSET_6) { setOutput(getT6(c.x, c.y - OFFSET_6)); return; }
#endif
#if NUM_INPUTS > 5
  if (c.y >= OFFSET_5) { setOutput(getT5(c.x, c.y - OFFSET_5)); return; }
#endif
#if NUM_INPUTS > 4
  if (c.y >= OFFSET_4) { setOutput(getT4(c.x, c.y - OFFSET_4)); return; }
#endif
#if NUM_INPUTS > 3
  if (c.y >= OFFSET_3) { setOutput(getT3(c.x, c.y - OFFSET_3)); return; }
#endif
#if NUM_INPUTS > 2
  if (c.y >= OFFSET_2) { setOutput(getT2(c.x, c.y - OFFSET_2)); return; }
#endif
#if NUM_INPUTS > 1
  if (c.y >= OFFSET_1) { setOutput(getT1(c.x, c.y - OFFSET_1)); return; }
#endif
  setOutput(getT0(c.x, c.y));
}
