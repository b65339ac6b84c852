"""GLSL kernels of the WebGL backend, one module per op family; their GLSL lives in shaders/."""
