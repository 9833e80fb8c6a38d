"""Dispatch: ``pyscript`` runs headless, the Scripts menu opens the panel."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence

from bgoptimizer import collector_paused

__all__ = ["run"]


def _import_torch() -> None:
    """torch imported with the cyclic collector paused and its objects frozen (as the command line imports
    the engine, see ``bgoptimizer.process``)."""
    with collector_paused():
        importlib.import_module("torch")


def run(siril, argv: Sequence[str]) -> None:
    if siril.is_cli():
        # torch (about 1 s to import) loads while Siril hands over the image (0.2 s at 3000x2000 RGB), which
        # the headless run reads before it needs the engine (0.06-0.22 s saved, see .loaded_image); the thread
        # imports torch alone, so the two never wait on each other's modules.
        threading.Thread(target=_import_torch, name="torch import", daemon=True).start()
        from .headless import run_headless

        run_headless(siril, argv)
    else:
        from .panel import open_panel  # tkinter only when a window is wanted

        open_panel(siril)
