"""The package's layers hold: every module imports only from its own layer or the ones below it.

Bottom to top: the shared modules at the package's top (settings, errors, signals, the process's end,
synthetic scenes), ``io`` (file formats and arrays), ``method`` (arrays in, arrays out), ``runs`` (a
frame's recipe, a run's jobs), ``command_line``; the package's ``__init__`` (the public API) above them
all. The Siril plugin's own test checks that it uses the public API alone.
"""

import ast
from pathlib import Path

import pytest

import bgoptimizer

PACKAGE = Path(bgoptimizer.__file__).parent
LAYERS = ("", "io", "method", "runs", "command_line")  # "" : the modules at the package's top
TOP = len(LAYERS)  # the package itself: __init__ and __main__


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """The layer of a module of the package (or of a name the package's ``__init__`` gives), by its dotted
    name."""
    parts = module.split(".")[1:]
    if parts and parts[0] in LAYERS:
        return LAYERS.index(parts[0])
    if parts and parts[0] != "__main__" and (PACKAGE / f"{parts[0]}.py").exists():
        return 0
    return TOP


def _imported(path: Path, source: str) -> list[tuple[int, str]]:
    """The package's modules that ``source`` (the module at ``path``) imports (anywhere in it, type-checking
    imports too), with their lines."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
            found += [(node.lineno, name) for name in names if name.split(".")[0] == "bgoptimizer"]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "bgoptimizer"]
    return found


def _upward_imports(path: Path, source: str | None = None) -> list[str]:
    own = _layer(_module_name(path))
    return [f"{path.relative_to(PACKAGE)}:{line} imports {name}"
            for line, name in _imported(path, path.read_text() if source is None else source)
            if _layer(name) > own]


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [found for path in sorted(PACKAGE.rglob("*.py")) for found in _upward_imports(path)]
    assert upward == []


@pytest.mark.parametrize(("source", "offending"), [
    ("from ..command_line.interrupts import interrupts_deferred\n", "io/atomic.py"),
    ("from .method.terms import term_count\n", "params.py"),
    ("from .. import extract_background\n", "method/fit.py"),
])
def test_an_upward_import_is_found(source, offending):
    """The check itself: an import running up a layer, added to a module's text, is reported."""
    path = PACKAGE / offending
    assert _upward_imports(path) == []
    assert _upward_imports(path, source + path.read_text())


METHOD_STEPS = ("common", "prepare", "model", "objects", "output")  # then the modules at method/'s top


def _step(module: str) -> int:
    """The place of a module of ``bgoptimizer.method`` among its folders (its top: after them all)."""
    parts = module.split(".")[2:]
    return METHOD_STEPS.index(parts[0]) if parts and parts[0] in METHOD_STEPS else len(METHOD_STEPS)


def test_the_method_s_folders_import_only_the_steps_before_them():
    backward = []
    for path in sorted((PACKAGE / "method").rglob("*.py")):
        own = _step(_module_name(path))
        backward += [f"{path.relative_to(PACKAGE)}:{line} imports {name}"
                     for line, name in _imported(path, path.read_text())
                     if name.startswith("bgoptimizer.method.") and _step(name) > own]
    assert backward == []
    assert {path.name for path in (PACKAGE / "method").iterdir() if (path / "__init__.py").exists()} == \
        set(METHOD_STEPS)


def test_every_layer_is_a_folder_of_the_package():
    assert {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()} == set(LAYERS[1:])
