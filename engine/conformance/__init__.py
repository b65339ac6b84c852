"""`tfgl conformance`: a model's every node on each backend against a reference (report.py, written
as JSON or as one self-contained HTML page by html.py), and the kernel cases run against this
machine's GL driver (kernels.py)."""
