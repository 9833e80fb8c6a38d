# SPDX-License-Identifier: GPL-3.0-or-later
#
# Background Optimizer for Siril 1.4, version 0.1.0: automatic background (gradient) extraction.
# Authors: the siril-bgoptimizer developers (contact: the siril-bgoptimizer project's issue tracker).
#
# This one file is the whole Siril script: copied alone into any Siril script folder it works. The engine
# is the Python package siril-bgoptimizer, which this script installs into Siril's Python environment.
"""Background Optimizer: automatic background (gradient) extraction of the image loaded in Siril.

From the Scripts menu it opens a parameter panel. From a batch script,
``pyscript Background_Optimizer.py [options]`` processes the loaded image (or,
with ``--sequence``, a sequence) without a window; ``--help`` lists the
options, which are those of the ``bgoptimizer`` command line.

On each run it makes sure that the engine, the ``siril-bgoptimizer``
distribution, is in Siril's Python environment in this script's version or
newer: it is installed (or upgraded) once, with one line in the log. Its
dependencies follow (PyTorch in the build for this machine's GPU, or the CPU
build); ``--help`` needs none of them. Offline, install the engine's wheel
into Siril's Python yourself: ``python -m pip install --no-deps
siril_bgoptimizer-<version>-py3-none-any.whl`` with Siril's ``python``.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import invalidate_caches, metadata

import sirilpy as s

VERSION = "0.1.0"  # this script's, and the oldest engine it works with
ENGINE = "siril-bgoptimizer"
TITLE = "Background Optimizer"


def _engine_version() -> str | None:
    try:
        return metadata.version(ENGINE)
    except metadata.PackageNotFoundError:
        return None


def _older(installed: str, wanted: str) -> bool:
    from packaging.version import InvalidVersion, Version  # pip's own, in every Siril venv

    try:
        return Version(installed) < Version(wanted)
    except InvalidVersion:
        return True


def ensure_engine(siril: s.SirilInterface) -> None:
    """Install or upgrade the engine (without its dependencies, which follow, torch in the machine's
    build); a `RuntimeError` says how to install it by hand when pip cannot."""
    installed = _engine_version()
    if installed is not None and not _older(installed, VERSION):
        return
    action = "installing" if installed is None else f"upgrading {installed} to"
    siril.log(f"{TITLE}: {action} {ENGINE} {VERSION} or newer (once)")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade", f"{ENGINE}>={VERSION}"]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        last = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(
            f"{ENGINE} {VERSION} could not be installed ({last[0]}); install its wheel into Siril's Python: "
            f"{sys.executable} -m pip install --no-deps siril_bgoptimizer-{VERSION}-py3-none-any.whl"
        )
    invalidate_caches()


def main(argv: list[str]) -> None:
    siril = s.SirilInterface()
    siril.connect()
    if not s.check_module_version(">=1.0.8"):
        siril.log(f"{TITLE} needs Siril 1.4.0 or newer (sirilpy 1.0.8 or newer)", s.LogColor.RED)
        return
    try:
        ensure_engine(siril)
        if {"-h", "--help"} & set(argv):  # the options, from the engine's settings: torch is not needed
            from bgoptimizer_siril.options import build_parser

            print(build_parser().format_help())
            return
        from bgoptimizer_siril.dependencies import ensure_dependencies

        ensure_dependencies(siril, s)
    except (s.SirilError, TimeoutError, RuntimeError) as error:
        siril.log(f"{TITLE}: {error}", s.LogColor.RED)
        return
    from bgoptimizer import collector_paused, end_process

    with collector_paused():  # a batch script's pyscript is a fresh interpreter, like the command line
        from bgoptimizer_siril.app import run

    run(siril, argv)
    end_process(0)  # Siril waits for the process: skip the interpreter's slow teardown (Siril ignores the code)


if __name__ == "__main__":
    main(sys.argv[1:])
