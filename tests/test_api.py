"""The public API: what the front ends may import, and signatures that cannot be called wrongly."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bgoptimizer
import bgoptimizer.io

PLUGIN = Path(__file__).resolve().parents[1] / "siril_plugin"
_CONTRACT = {"bgoptimizer": bgoptimizer, "bgoptimizer.io": bgoptimizer.io}


def _engine_imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) of each import of the engine package in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] == "bgoptimizer":
            found.append((node.module, tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names if alias.name.split(".")[0] == "bgoptimizer"]
    return found


def test_the_plugin_lives_on_the_public_api_alone():
    imports = [(path.name, module, names) for path in sorted(PLUGIN.rglob("*.py")) for module, names in
               _engine_imports(path)]
    assert len(imports) >= 10  # the walk finds them
    for file, module, names in imports:
        assert module in _CONTRACT, f"{file} imports {module}"
        public = _CONTRACT[module].__all__
        assert not set(names) - set(public), f"{file} imports {set(names) - set(public)} from {module}"


def test_every_public_name_resolves_and_importing_loads_no_torch():
    assert all(getattr(bgoptimizer, name) is not None for name in bgoptimizer.__all__)
    assert all(getattr(bgoptimizer.io, name) is not None for name in bgoptimizer.io.__all__)
    code = "import sys, bgoptimizer; bgoptimizer.flag('x'); sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


_ENGINE = ("extract_background", "extract_cfa_background", "extract_frame_background")


@pytest.mark.parametrize("name", [*_ENGINE, "prepare", "fit_background", "preview_fit", "process_frame"])
def test_everything_after_the_image_and_parameters_is_keyword_only(name):
    parameters = list(inspect.signature(getattr(bgoptimizer, name)).parameters.values())
    assert [p.kind for p in parameters[:2]] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in parameters[2:]), name


def test_the_engine_variants_take_the_same_keywords():
    def keywords(name: str) -> dict[str, object]:
        return {p.name: p.default for p in inspect.signature(getattr(bgoptimizer, name)).parameters.values()}

    whole = keywords("extract_background")
    assert keywords("extract_cfa_background") == whole
    assert keywords("extract_frame_background") == {**whole, "bayer_pattern": None}


def test_a_mask_given_in_the_place_of_another_argument_is_refused():
    image = np.full((1, 64, 64), 0.1, np.float32)
    with pytest.raises(TypeError, match="positional"):
        bgoptimizer.extract_background(image, bgoptimizer.Parameters(), np.ones_like(image))


def _messages(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_the_method_and_the_runs_speak_no_front_ends_words():
    """Settings are named as ``{name}``, which each front end renders (a flag, a label), never as a flag."""
    package = Path(bgoptimizer.__file__).parent
    modules = [*package.glob("method/*.py"), *package.glob("runs/*.py"), *package.glob("io/*.py"), package / "params.py"]
    flags = [(path.name, text) for path in modules for text in _messages(path) if re.search(r"--[a-z]", text)]
    assert not flags


def test_a_warning_names_settings_as_each_front_end_does():
    from bgoptimizer import Parameters, extract_background, flag
    from bgoptimizer.synthetic import make_scene

    report = extract_background(make_scene(120, 100, nebula=False).image, Parameters(epochs=5)).report
    (warning,) = report.warnings
    assert warning.parameters == ("downscale", "points")
    assert "use a smaller --downscale, fewer --points" in warning.rendered(flag)
    assert "use a smaller “Downscale”, fewer “Points”" in warning.rendered(lambda name: f"“{name.title()}”")
