"""Checks a graph's ops against what tfgl's engine can run, listing every unsupported op at once."""
from __future__ import annotations

from engine.errors import ConversionError
from engine.kernels.register_all import supported_ops

DEBUG_OPS = frozenset({"Assert", "CheckNumerics", "Print"})


def unsupported_ops(graph_def, strip_debug_ops: bool = False) -> dict[str, list[str]]:
    known = supported_ops() | (DEBUG_OPS if strip_debug_ops else frozenset())
    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    missing: dict[str, list[str]] = {}
    for node in nodes:
        if node.op not in known:
            missing.setdefault(node.op, []).append(node.name)
    return missing


def check_ops(graph_def, skip: bool, strip_debug_ops: bool, when: str) -> None:
    if skip:
        return
    missing = unsupported_ops(graph_def, strip_debug_ops)
    if missing:
        lines = [f"  {op} (used by {', '.join(nodes[:3])}{' ...' if len(nodes) > 3 else ''})"
                 for op, nodes in sorted(missing.items())]
        raise ConversionError(f"{len(missing)} op(s) tfgl does not support, {when}:\n" + "\n".join(lines)
                              + "\n(--skip_op_check converts anyway)")
