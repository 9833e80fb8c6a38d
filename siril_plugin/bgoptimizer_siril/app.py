"""Dispatch: ``pyscript`` runs headless, the Scripts menu opens the panel."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["run"]


def run(siril, argv: Sequence[str]) -> None:
    if siril.is_cli():
        from .headless import run_headless

        run_headless(siril, argv)
    else:
        from .panel import open_panel  # tkinter only when a window is wanted

        open_panel(siril)
