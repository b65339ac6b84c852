// Select and SelectV2: the condition picks then (B) or else (C), values passed bit for bit.
float ternary_op(float condition, float then_value, float else_value) {
  return condition != 0.0 ? then_value : else_value;
}
