"""The panel's areas: the user draws them in Siril's own image view (its overlay); the panel counts them,
and the fit keeps them out."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

import sirilpy as s

from . import overlay
from .theme import Tooltip

__all__ = ["AreaControls"]

_POLL_MS = 1000
_POLLS = 120  # two minutes to draw an area
_NO_AREA = "no area excluded"  # beside the buttons, where a drawn area's count goes


class AreaControls:
    """``say(message, kind)`` reports to the user (kind None: a plain status, else "failed");
    ``changed()`` follows a change of the areas; ``closing()`` says the window is going."""

    def __init__(self, root: tk.Tk, siril, colors: dict[str, str], say: Callable[[str, str | None], None],
                 changed: Callable[[], None], closing: Callable[[], bool]) -> None:
        self.root, self.siril, self.colors = root, siril, colors
        self.say, self.changed, self.closing = say, changed, closing
        self.text = tk.StringVar(value=_NO_AREA)
        self.count = 0
        self.buttons: dict[str, ttk.Button] = {}
        self._polls = 0

    def build(self, frame: ttk.LabelFrame, row: int) -> int:
        """The two buttons and the count, on ``row`` of the Sky group (one line: on a 1366x768 screen every
        essential setting shows without scrolling); the row after it."""
        buttons = ttk.Frame(frame)
        buttons.grid(row=row, column=0, columnspan=3, sticky="w", pady=(2, 0))
        for name, text, command, tip in (
            ("draw_area", "Draw area in Siril", self.draw,
             "Then, in Siril's image window, press, drag around what the fit must not see (a large nebula, a "
             "landscape, a trail) and release. Each area is kept out of the fit with a soft edge; draw as many as "
             "needed (--exclude-polygons in batch scripts)."),
            ("clear_areas", "Clear areas", self.clear, "Remove the areas drawn for the fit from Siril's view."),
        ):
            button = ttk.Button(buttons, text=text, command=command)
            button.pack(side="left", padx=(0, 6))
            Tooltip(button, tip, self.colors)
            self.buttons[name] = button
        ttk.Label(buttons, textvariable=self.text, style="Muted.TLabel").pack(side="left", padx=(4, 0))
        self.refresh()
        return row + 1

    def draw(self) -> None:
        """Siril's view takes the next press-drag-release as an area; the panel sees it within a second."""
        try:
            overlay.start_drawing(self.siril)
        except s.SirilError as error:
            self.say(f"Siril cannot draw now ({error}); load an image, leave other drawing modes", "failed")
            return
        self.say("Draw the area in Siril's image window: press, drag around it, release.", None)
        self._polls = _POLLS
        self.root.after(_POLL_MS, self._poll)

    def _poll(self) -> None:
        """Count the areas until the new one appears (or the user gives up): then the preview refreshes."""
        before = self.count
        self.refresh()
        self._polls -= 1
        if self.count != before:
            self.say(f"{self.text.get().capitalize()} kept out of the fit (dimmed in the preview).", None)
            self.changed()
        elif self._polls > 0 and not self.closing():
            self.root.after(_POLL_MS, self._poll)

    def refresh(self) -> None:
        try:
            self.count = overlay.count_areas(self.siril) if self.siril.is_image_loaded() else 0
        except s.SirilError:
            self.count = 0
        self.text.set(overlay.describe_areas(self.count) if self.count else _NO_AREA)

    def clear(self) -> None:
        try:
            overlay.clear_areas(self.siril)
        except s.SirilError as error:
            self.say(f"Siril refused to clear the areas: {error}", "failed")
        self.refresh()
        self.changed()
