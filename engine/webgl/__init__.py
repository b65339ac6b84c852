"""The GL layer under the WebGL backend: the offscreen context, tensors in textures, programs as data,
their GLSL codegen, and recorded plans. The backend itself is engine/backends/webgl/; the kernels
are engine/kernels/webgl/."""
