"""Every shader file is used, and found by grep: its path under shaders/ is written out as a string
literal in the engine code that runs it (not built from pieces), and every such literal names a file."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHADERS = REPO / "shaders"
ENGINE = REPO / "engine"


def _glsl_literals() -> dict[str, list[str]]:
    """'family/name.glsl' string constants in engine/**/*.py (docstrings aside) -> the files holding them."""
    found: dict[str, list[str]] = {}
    for path in sorted(ENGINE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(".glsl") \
                    and id(node) not in docstrings:
                found.setdefault(node.value, []).append(str(path.relative_to(REPO)))
    return found


def test_every_shader_file_is_named_literally_by_engine_code():
    shader_files = {path.relative_to(SHADERS).as_posix() for path in SHADERS.rglob("*.glsl")}
    assert shader_files, f"no .glsl files under {SHADERS}"
    unused = sorted(shader_files - set(_glsl_literals()))
    assert not unused, f"shader files no engine code names as a literal path (unused, or built from pieces): {unused}"


def test_every_glsl_literal_names_a_shader_file():
    missing = {name: files for name, files in _glsl_literals().items() if not (SHADERS / name).is_file()}
    assert not missing, f"engine code names shader files that don't exist (or builds a path from pieces): {missing}"
