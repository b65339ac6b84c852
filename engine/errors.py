"""Exceptions raised by tfgl. Every error a user can cause derives from TfglError."""
from __future__ import annotations


class TfglError(Exception):
    """Base class of every error tfgl raises on bad input or an unusable setup."""


class ModelFormatError(TfglError):
    """model.json (or a layers config) is malformed or inconsistent."""


class WeightsError(TfglError):
    """A weights manifest or shard is missing, short, long or undecodable."""


class UnsafePathError(WeightsError):
    """A weight path escapes the model's folder or origin."""


# TensorFlow Decision Forests' ops: TF.js runs them only with its separate tfjs-tfdf package (a WASM
# build of the forest engine), and tfgl not at all.
TFDF_OPS = frozenset({"SimpleMLCreateModelResource", "SimpleMLLoadModelFromPathWithHandle",
                      "SimpleMLInferenceOpWithHandle"})


class UnsupportedOpsError(TfglError):
    """The graph uses ops the engine has no kernel for; lists all of them at once."""

    def __init__(self, missing: dict[str, list[str]]):
        self.missing = missing
        lines = [f"  {op}: used by {', '.join(nodes[:3])}{' ...' if len(nodes) > 3 else ''}"
                 for op, nodes in sorted(missing.items())]
        if TFDF_OPS & missing.keys():
            lines.append("SimpleML* ops are TensorFlow Decision Forests (TF-DF) ops: tfgl does not run TF-DF "
                         "models (TF.js runs them only with @tensorflow/tfjs-tfdf)")
        super().__init__(f"{len(missing)} unsupported op(s):\n" + "\n".join(lines))


class GraphError(TfglError):
    """The graph's structure is invalid: unknown inputs, cycles, duplicate names."""


class AttrError(GraphError):
    """A node attribute is missing or has a bad value."""

    def __init__(self, node: str, attr: str, message: str):
        self.node, self.attr = node, attr
        super().__init__(f"node {node!r}, attr {attr!r}: {message}")


class InputError(TfglError):
    """Inputs given at run time don't match the model's signature (or warm-up's inputs cannot run it)."""


class KernelError(TfglError):
    """A kernel rejected its inputs (shapes, dtypes, values), naming node and op.

    Kernels reject bad input by raising ValueError (numpy does the same for shapes that don't fit);
    Backend.run turns that, and only that, into a KernelError. Any other exception from a kernel is a
    bug in tfgl and propagates as itself, with the node and op in a note."""


class ResourceLimitError(TfglError):
    """A tensor would exceed the configured size limit."""


class GradientError(TfglError):
    """A gradient was asked of something tfgl cannot differentiate (an op without a gradient
    definition, a target that is not a float tensor, a tape used twice)."""


class GLError(TfglError):
    """The OpenGL context failed or reported an error."""


class ConversionError(TfglError):
    """The converter could not convert the given model."""
