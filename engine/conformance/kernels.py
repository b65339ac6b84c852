"""`tfgl conformance --kernels`: the shipped kernel cases (kernel_cases.py) on each backend, against
tfgl's CPU kernels in float64, on this machine's GL driver: pass or fail per op and backend."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from engine import dtypes
from engine.conformance.capture import Float64CPUBackend, backend_named
from engine.conformance.compare import Tolerance, compare
from engine.conformance.kernel_cases import CASES, Case
from engine.tensors import Tensor


def kernel_table(backends: Sequence[str], tolerance: Tolerance, cases: Sequence[Case] = CASES,
                 progress: bool = False) -> dict[str, dict[str, dict]]:
    """op -> backend -> {passed, cases, failures (what failed, why), max_abs_error, cpu_fallback}."""
    impls = {name: backend_named(name) for name in backends}
    reference = Float64CPUBackend()
    table: dict[str, dict[str, dict]] = {}
    for case in tqdm(cases, desc="kernel cases", unit="case", disable=not progress, leave=False):
        arrays = case.arrays()
        expected = [_values(out) for out in reference.run(case.op, _tensors(arrays), case.attrs)]
        for name, impl in impls.items():
            entry = table.setdefault(case.op, {}).setdefault(
                name, {"passed": True, "cases": 0, "failures": [], "max_abs_error": 0.0, "cpu_fallback": False})
            entry["cases"] += 1
            problem, error, fell_back = _run_case(case, arrays, impl, expected, tolerance)
            entry["max_abs_error"] = max(entry["max_abs_error"], error)
            entry["cpu_fallback"] |= fell_back
            if problem:
                entry["passed"] = False
                entry["failures"].append(f"{case.label or case.op}: {problem}")
    return table


def _tensors(arrays: list[np.ndarray]) -> list[Tensor]:
    stored = [dtypes.to_storage(a) for a in arrays]
    return [Tensor(a, dtypes.dtype_of_array(a)) for a in stored]


def _values(out) -> np.ndarray | None:
    return out.numpy() if isinstance(out, Tensor) else None


def _run_case(case: Case, arrays: list[np.ndarray], impl, expected: list, tolerance: Tolerance
              ) -> tuple[str, float, bool]:
    """(what went wrong or '', the max abs error, whether the op ran on the CPU instead of GL)."""
    tensors = _tensors(arrays)
    stats = getattr(impl, "stats", None)
    fallbacks = stats.cpu_fallbacks.get(case.op, 0) if stats is not None else 0
    try:
        if hasattr(impl, "texture_of"):  # on the GPU first: small host inputs would go to the CPU kernel
            _check_gl(impl, f"before {case.op}")
            for tensor in tensors:
                if tensor.size and tensor.dtype in ("float32", "int32", "bool"):
                    impl.texture_of(tensor)
                elif tensor.size and tensor.dtype == "complex64":
                    impl.complex_parts(tensor)
        outputs = [_values(out) for out in impl.run(case.op, tensors, case.attrs)]
        if hasattr(impl, "texture_of"):
            _check_gl(impl, case.op)
    except Exception as error:  # a user's driver may fail in any way: the table reports it
        return f"{type(error).__name__}: {error}", float("inf"), False
    fell_back = stats is not None and stats.cpu_fallbacks.get(case.op, 0) > fallbacks
    if len(outputs) != len(expected):
        return f"{len(outputs)} outputs, reference {len(expected)}", float("inf"), fell_back
    worst = 0.0
    for index, (got, want) in enumerate(zip(outputs, expected)):
        if want is None or got is None:
            continue
        result = compare(got, want, tolerance)
        worst = max(worst, result.max_abs_error)
        if not result.within_tolerance:
            return (f"output {index}: {result.mismatches} of {result.size} elements out of tolerance, max abs error "
                    f"{result.max_abs_error:.3g}{' (' + result.note + ')' if result.note else ''}"), worst, fell_back
    return "", worst, fell_back


def _check_gl(impl, where: str) -> None:
    with impl.current():
        impl.check_error(where)


def format_table(table: dict[str, dict[str, dict]], backends: Sequence[str]) -> str:
    width = max(len(op) for op in table) if table else 2
    lines = [f"{'op':{width}}  " + "  ".join(f"{b:>12}" for b in backends)]
    for op in sorted(table):
        cells = []
        for backend in backends:
            entry = table[op].get(backend)
            mark = "-" if entry is None else ("FAIL" if not entry["passed"] else
                                              "pass (cpu)" if entry["cpu_fallback"] else "pass")
            cells.append(f"{mark:>12}")
        lines.append(f"{op:{width}}  " + "  ".join(cells))
    failed = [(op, b, e) for op, per in sorted(table.items()) for b, e in per.items() if not e["passed"]]
    total = sum(len(per) for per in table.values())
    lines.append(f"{total - len(failed)} of {total} op/backend pairs pass ({len(table)} ops); "
                 "pass (cpu): the GL backend ran the op on its CPU kernel")
    for op, backend, entry in failed:
        for failure in entry["failures"]:
            lines.append(f"  FAIL {op} on {backend}: {failure}")
    return "\n".join(lines)
