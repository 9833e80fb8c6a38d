"""The panel's preview: the view chooser, the before/after switch, and the image drawn to fill its area."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

import numpy as np

from bgoptimizer.io import to_display

from .preview_view import AFTER, BEFORE, VIEWS, ppm, scaled_to
from .theme import Tooltip

__all__ = ["PreviewPane"]



class PreviewPane:
    """The views of the last Preview (or Run), each ``(C, h, w)`` in [0, 1], shown one at a time."""

    def __init__(self, root: tk.Tk, frame: ttk.LabelFrame, size: tuple[int, int], colors: dict[str, str]) -> None:
        self.root = root
        self.views: dict[str, np.ndarray] = {}
        self.photo: tk.PhotoImage | None = None
        self.pixels: np.ndarray | None = None  # the view shown, (h, w, C) uint8 before scaling
        self._rendered: np.ndarray | None = None
        self.view = tk.StringVar(value=VIEWS[0])
        bar = ttk.Frame(frame)
        bar.pack(fill="x", pady=(0, 6))
        # As wide as the preview leaves it (not wider: a laptop's panel would leave less of Siril's view free).
        self.chooser = ttk.Combobox(bar, textvariable=self.view, values=VIEWS, state="readonly", width=24)
        self.chooser.pack(side="left", fill="x", expand=True)
        self.chooser.bind("<<ComboboxSelected>>", lambda _event: self.render())
        Tooltip(self.chooser, "What the fit sees (dimmed: not background); the objects it keeps out (red) and its "
                "control points (yellow); the background model; the image corrected; the input. Before Run "
                "computed on the downscaled image by the same fit as Run; after Run, the corrected image is "
                "the loaded image as Run left it. One stretch for all channels: colours are as in the result.",
                colors)
        self.flip = ttk.Button(bar, text="Before / after", command=self.before_after)
        self.flip.pack(side="left", padx=(6, 0))
        Tooltip(self.flip, "Switch between the input image and the corrected one, shown alike.", colors)
        # The area keeps its own size: the image drawn in it never makes it ask for more (which would grow
        # it image after image and push the parameters off the window).
        area = ttk.Frame(frame, width=size[0], height=size[1])
        area.pack(fill="both", expand=True)
        area.pack_propagate(False)
        self.label = ttk.Label(area, text="Press Preview", anchor="center", style="Muted.TLabel")
        self.label.pack(fill="both", expand=True)
        self.label.bind("<Configure>", lambda _event: self.render())

    def show(self, views: dict[str, np.ndarray], view: str | None = None) -> None:
        """These views from now on (none: the old ones are gone), ``view`` among them shown."""
        self.views = views
        if view is not None:
            self.view.set(view)
        self.render()

    def before_after(self) -> None:
        self.view.set(BEFORE if self.view.get() == AFTER else AFTER)
        self.render()

    def render(self) -> None:
        """The chosen view, scaled to fill the area (again when the window is resized)."""
        if self.view.get() not in self.views:  # nothing computed yet, or only Run's before/after
            self.label.configure(image="", text="Press Preview")
            self.photo, self._rendered = None, None
            return
        self.pixels = to_display(self.views[self.view.get()])
        width = max(1, self.label.winfo_width() - 4)
        height = max(1, self.label.winfo_height() - 4)
        shown = scaled_to(self.pixels, width, height)
        if self._rendered is not None and np.array_equal(shown, self._rendered):
            return  # a resize that changes nothing (the label's own <Configure> after the image is set)
        self._rendered = shown
        self.photo = tk.PhotoImage(master=self.root, data=ppm(shown))
        self.label.configure(image=self.photo, text="")
