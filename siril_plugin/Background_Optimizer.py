"""Background Optimizer for Siril: automatic background (gradient) extraction.

From the Scripts menu it opens a parameter panel. From a batch script,
``pyscript Background_Optimizer.py [options]`` processes the loaded image
without a window; the options are those of the ``bgoptimizer`` command line
(``pyscript Background_Optimizer.py --help`` lists them).

This file only bootstraps: it checks the Siril and sirilpy versions,
installs the Python packages listed in ``manifest/`` into Siril's virtual
environment, and runs the plugin from the repository it lives in.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import sirilpy as s

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MANIFEST = ROOT / "manifest" / "siril-bgoptimizer.json"


def requirements(manifest: Path = MANIFEST) -> tuple[list[str], list[str | None]]:
    """Distribution names and version constraints (``None`` when unconstrained) from the manifest."""
    names: list[str] = []
    constraints: list[str | None] = []
    for requirement in json.loads(manifest.read_text(encoding="utf-8"))["requirements"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", requirement)
        if match is None:
            raise ValueError(f"{manifest}: unreadable requirement {requirement!r}")
        names.append(match.group(1))
        constraints.append(match.group(2) or None)
    return names, constraints


def main(argv: list[str]) -> None:
    siril = s.SirilInterface()
    siril.connect()
    if not s.check_module_version(">=1.0.8"):
        siril.log("Background Optimizer needs sirilpy 1.0.8 or newer (Siril 1.4.0 or newer)", s.LogColor.RED)
        return
    try:
        siril.cmd("requires", "1.4.0")
    except s.SirilError:
        siril.log("Background Optimizer needs Siril 1.4.0 or newer", s.LogColor.RED)
        return
    names, constraints = requirements()
    try:
        s.ensure_installed(names, version_constraints=constraints)
    except (s.SirilError, TimeoutError) as error:
        siril.log(f"Background Optimizer: installing {', '.join(names)} failed: {error}", s.LogColor.RED)
        return
    for folder in (HERE, ROOT / "core"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    from bgoptimizer.entry import collector_paused

    with collector_paused():  # a batch script's pyscript is a fresh interpreter, like the command line
        from bgoptimizer_siril.app import run

    run(siril, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
