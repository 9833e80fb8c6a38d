"""Background Optimizer for Siril: automatic background (gradient) extraction.

From the Scripts menu it opens a parameter panel. From a batch script,
``pyscript Background_Optimizer.py [options]`` processes the loaded image
without a window; the options are those of the ``bgoptimizer`` command line
(``pyscript Background_Optimizer.py --help`` lists them).

This file only bootstraps: it checks the sirilpy version (sirilpy 1.0.8 is
the one Siril 1.4.0 ships), installs what ``manifest/`` lists into Siril's
virtual environment when it is missing (torch in the build for this machine's
GPU, or the CPU build), and runs the plugin from the repository it lives in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sirilpy as s

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MANIFEST = ROOT / "manifest" / "siril-bgoptimizer.json"


def main(argv: list[str]) -> None:
    siril = s.SirilInterface()
    siril.connect()
    if not s.check_module_version(">=1.0.8"):
        siril.log("Background Optimizer needs Siril 1.4.0 or newer (sirilpy 1.0.8 or newer)", s.LogColor.RED)
        return
    for folder in (HERE, ROOT / "core"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    from bgoptimizer_siril.dependencies import ensure_dependencies

    try:
        ensure_dependencies(siril, s, MANIFEST)
    except (s.SirilError, TimeoutError, RuntimeError) as error:
        siril.log(f"Background Optimizer: {error}", s.LogColor.RED)
        return
    from bgoptimizer import collector_paused, end_process

    with collector_paused():  # a batch script's pyscript is a fresh interpreter, like the command line
        from bgoptimizer_siril.app import run

    run(siril, argv)
    end_process(0)  # Siril waits for the process: skip the interpreter's slow teardown (Siril ignores the code)


if __name__ == "__main__":
    main(sys.argv[1:])
