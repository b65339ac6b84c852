// Inference batch norm over A viewed as (outer, channels, inner); the per-channel Scale, Offset,
// Mean and Variance arrive as (1, channels, 1) (or (1, 1, 1)) and broadcast.
uniform float epsilon;

void run() {
  float multiplier = getScaleAtOutCoords() / sqrt(getVarianceAtOutCoords() + epsilon);
  setOutput((getAAtOutCoords() - getMeanAtOutCoords()) * multiplier + getOffsetAtOutCoords());
}
