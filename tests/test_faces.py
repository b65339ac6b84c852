"""An op's faces are found by its name and its family (README): the kernel that
engine/kernels/<backend>/<family>.py defines for an op is tested in tests/kernels/test_<family>.py, which
names the op as a string literal; a GL kernel's op has its CPU kernel in the CPU module of the same family.
So a kernel defined without a conformance test, or in a family of its own, fails here."""
import ast
from pathlib import Path

from engine.kernels.register_all import FAMILIES

REPO = Path(__file__).resolve().parents[1]
KERNEL_TESTS = REPO / "tests" / "kernels"


def family_of(module) -> str:
    """engine.kernels.webgl.basic_math -> 'basic_math'."""
    return module.__name__.rsplit(".", 1)[-1]


def string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_every_kernel_is_named_by_its_familys_conformance_test():
    untested: dict[str, list[str]] = {}
    for modules in FAMILIES.values():
        for module in modules:
            test_file = KERNEL_TESTS / f"test_{family_of(module)}.py"
            named = string_literals(test_file) if test_file.is_file() else set()
            ops = sorted(op for op, _ in module.KERNELS.items() if op not in named)
            if ops:
                untested[f"{module.__name__} -> {test_file.relative_to(REPO)}"] = ops
    assert not untested, f"kernels whose family's conformance test doesn't name their op: {untested}"


def test_every_gl_kernel_mirrors_a_cpu_kernel_of_its_family():
    cpu_family = {op: family_of(module) for module in FAMILIES["cpu"] for op, _ in module.KERNELS.items()}
    astray = {f"{module.__name__}: {op}": cpu_family.get(op, "no CPU kernel")
              for module in FAMILIES["webgl"] for op, _ in module.KERNELS.items()
              if cpu_family.get(op) != family_of(module)}
    assert not astray, f"GL kernels whose op has no CPU kernel in the same family (op: its CPU family): {astray}"
