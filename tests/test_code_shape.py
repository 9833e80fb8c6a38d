"""No function a reader must scroll, no argument list to count (issue 42): in ``core/`` and ``siril_plugin/``
every function is at most 60 lines long and takes at most 8 parameters (``self`` aside), but the declarative
spec helper ``setting()``, whose keywords are a setting's fields."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES, MAX_PARAMETERS = 60, 8
DECLARATIVE = {("core/bgoptimizer/params.py", "setting")}


def _too_big(path: Path, source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        names = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        count = len(names) + bool(arguments.vararg) + bool(arguments.kwarg)
        count -= bool(names) and names[0].arg in ("self", "cls")
        lines = node.end_lineno - node.lineno + 1
        where = str(path.relative_to(ROOT))
        if (lines > MAX_LINES or count > MAX_PARAMETERS) and (where, node.name) not in DECLARATIVE:
            found.append(f"{where}:{node.lineno} {node.name}: {lines} lines, {count} parameters")
    return found


def test_no_function_is_too_long_or_takes_too_many_parameters():
    paths = sorted((ROOT / "core").rglob("*.py")) + sorted((ROOT / "siril_plugin").rglob("*.py"))
    assert [found for path in paths for found in _too_big(path, path.read_text())] == []


def test_a_long_function_is_found():
    body = "\n".join(f"    x{number} = {number}" for number in range(MAX_LINES))
    many = ", ".join(f"a{number}" for number in range(MAX_PARAMETERS + 1))
    source = f"def long():\n{body}\n\n\ndef wide({many}):\n    pass\n\n\ndef method(self, {many[:-4]}):\n    pass\n"
    found = _too_big(ROOT / "core" / "example.py", source)
    assert [line.split(": ")[0] for line in found] == ["core/example.py:1 long", "core/example.py:64 wide"]
