"""Kernels: one module per op family and backend (cpu/, webgl/, neutral/), each defining a
`KERNELS` table; register_all.py registers them. Importing this package registers nothing."""
